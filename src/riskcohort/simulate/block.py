"""Simulate one independent block of perpetrators and build all its tables and its truth.

Why blocks: perpetrators (with their own victims) never interact across blocks, so a national
force is just many blocks written one after another: memory is bounded by the block size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.simulate import dynamics, extras, records, traits
from riskcohort.simulate.assessments import assessments
from riskcohort.simulate.presets import DATA_END, Preset

PERSON_REFS = {
    "incidents": ("perpetrator_id", "victim_id"),
    "relationships": ("person_a_id", "person_b_id"),
    "risk_assessments": ("perpetrator_id", "victim_id"),
    "orders": ("subject_id", "protected_id"),
    "custody": ("person_id",),
    "markers": ("person_id",),
    "referrals": ("person_id",),
}


def month_days(preset: Preset) -> np.ndarray:
    """Day number of each simulated month start (one extra: the end of the last month)."""
    months = preset.sim_start_month + np.arange(preset.n_months + 1)
    return months.astype("datetime64[D]").astype(np.int64)


def simulate_block(preset: Preset, n: int, block: int, seed: int, bias_group=None,
                   bias_rate=0.0) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Tables (typed frames) and truth rows of one block of ``n`` perpetrators."""
    rng = np.random.default_rng([seed, block, 1])
    post = np.random.default_rng([seed, block, 2])
    md = month_days(preset)
    tr = traits.draw(rng, n, preset.n_months)
    bias = None
    if bias_group is not None:
        bias = np.asarray(traits.ETHNICITIES)[tr.ethnicity] == bias_group
    burn = 12 * preset.burn_in_years
    w = dynamics.run(tr, rng, md, burn, bias, bias_rate)
    start_day = int(md[burn])
    end_day = int(DATA_END.astype("datetime64[D]").astype(np.int64)) + 1
    nrel = len(w.rels["perp"])
    perm = post.permutation(n + nrel)
    pid = records.ids("P", block, perm)
    inc = w.incidents
    rec_day = inc["occurred"] + inc["lag"]
    keep = np.flatnonzero(inc["recorded"] & (rec_day >= start_day) & (rec_day < end_day))
    keep = keep[np.argsort(rec_day[keep], kind="stable")]
    order_ok = np.zeros(len(w.orders["id"]) + 1, bool)
    order_ok[w.orders["id"][(w.orders["start"] >= start_day) & (w.orders["start"] < end_day)]] = 1
    t: dict[str, pd.DataFrame] = {}
    t["incidents"] = records.incidents(w, keep, pid, n, block, post, order_ok)
    rel = inc["rel"][keep]
    rel_known = pd.Series(rec_day[keep][rel >= 0]).groupby(rel[rel >= 0]).min()
    t["relationships"] = records.relationships(w, rel_known, pid, n, block, end_day, post)
    t["risk_assessments"] = assessments(tr, t["incidents"], inc["perp"][keep],
                                        inc["sep_s"][keep], inc["exc"][keep], block, post)
    first_seen = pd.Series(rec_day[keep]).groupby(inc["perp"][keep]).min()
    t["orders"] = extras.orders(w, pid, n, block, start_day, end_day)
    t["custody"] = extras.custody(w, pid, block, start_day, end_day)
    t["markers"] = extras.markers(w, first_seen, pid, block, end_day, post)
    t["referrals"] = extras.referrals(w, t["risk_assessments"], first_seen, pid, block,
                                      start_day, end_day, post)
    hom = inc["code"] == dynamics.OFF_CODE["homicide"]
    victim_death = np.full(nrel, np.nan)
    victim_death[inc["rel"][hom]] = inc["occurred"][hom]
    victim_death[victim_death >= end_day] = np.nan
    perp_death = np.where(w.perp_death < end_day, w.perp_death, np.nan)
    w.perp_death = perp_death
    used = pd.unique(pd.concat([t[k][c].dropna() for k, cols in PERSON_REFS.items()
                                for c in cols], ignore_index=True))
    inv = np.argsort(perm)
    used_idx = inv[pd.Series(used).str.slice(3).astype("int64").to_numpy()]
    t["persons"] = records.persons(w, used_idx, pid, n, victim_death, post)
    truth = _truth(w, pid, keep, md, start_day)
    return t, truth


def _truth(w, pid, keep, md, start_day) -> pd.DataFrame:
    """True 12-month serious-harm probability of every perpetrator with a written DA incident."""
    inc = w.incidents
    da_perps = np.unique(inc["perp"][keep][inc["domestic"][keep]])
    tr = w.truth
    sel = np.isin(tr["person"], da_perps)
    month = md[tr["month"][sel]].astype("datetime64[D]")
    return pd.DataFrame({
        "person_id": pid[tr["person"][sel]],
        "month_start": pd.Series(month).astype("datetime64[ns]"),
        "p_serious_harm": tr["p"][sel].astype("float64"),
    })
