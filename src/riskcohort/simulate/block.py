"""Simulate one independent block of perpetrators and build all its tables and its truth.

Why blocks: perpetrators (with their own victims) never interact across blocks, so a national
force is just many blocks written one after another: memory is bounded by the block size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.simulate import dynamics, extras, records, traits
from riskcohort.simulate.assessments import assessments
from riskcohort.simulate.management import Team
from riskcohort.simulate.presets import DATA_END, Preset
from riskcohort.simulate.scenarios import SCENARIOS, Scenario

PERSON_REFS = {
    "incidents": ("perpetrator_id", "victim_id"),
    "relationships": ("person_a_id", "person_b_id"),
    "risk_assessments": ("perpetrator_id", "victim_id"),
    "orders": ("subject_id", "protected_id"),
    "custody": ("person_id",),
    "markers": ("person_id",),
    "referrals": ("person_id",),
    "interventions": ("person_id",),
}


def month_days(preset: Preset) -> np.ndarray:
    """Day number of each simulated month start (one extra: the end of the last month)."""
    months = preset.sim_start_month + np.arange(preset.n_months + 1)
    return months.astype("datetime64[D]").astype(np.int64)


def _world(preset: Preset, n: int, block: int, seed: int, sc: Scenario, managed: int,
           effect: float, tail_months: float, rng) -> tuple[dynamics.World, Team | None, int]:
    """Draw the block's people and simulate every month (the latent world, before anything is
    exported); returns the world, the management team (or None) and the burn-in month."""
    md = month_days(preset)
    tr = traits.draw(rng, n, preset.n_months)
    if sc.beta_scale != 1.0:
        tr.beta = tr.beta * sc.beta_scale
    bias = None
    if sc.bias_group is not None:
        bias = np.asarray(traits.ETHNICITIES)[tr.ethnicity] == sc.bias_group
    burn = 12 * preset.burn_in_years
    team = None
    if managed > 0:
        team = Team(managed, effect, tail_months, burn, float(md[burn]),
                    np.random.default_rng([seed, block, 4]), n)
    return dynamics.run(tr, rng, md, burn, bias, sc.bias_rate, sc, team), team, burn


def _kept_incidents(w: dynamics.World, start_day: int, end_day: int) -> tuple[np.ndarray, ...]:
    """Incidents the force's extract holds: recorded, and recorded inside the data period; in
    order of recording day. Also the recording day of every incident."""
    inc = w.incidents
    rec_day = inc["occurred"] + inc["lag"]
    keep = np.flatnonzero(inc["recorded"] & (rec_day >= start_day) & (rec_day < end_day))
    keep = keep[np.argsort(rec_day[keep], kind="stable")]
    return keep, rec_day


def _record_tables(w: dynamics.World, keep, rec_day, pid, n: int, block: int, start_day: int,
                   end_day: int, post, sc: Scenario) -> dict[str, pd.DataFrame]:
    """The contract tables derived from the kept incidents (all but persons and interventions),
    in the order their random draws are made (same seed -> identical files)."""
    inc = w.incidents
    order_ok = np.zeros(len(w.orders["id"]) + 1, bool)
    order_ok[w.orders["id"][(w.orders["start"] >= start_day) & (w.orders["start"] < end_day)]] = 1
    t: dict[str, pd.DataFrame] = {}
    t["incidents"] = records.incidents(w, keep, pid, n, block, post, order_ok)
    rel = inc["rel"][keep]
    rel_known = pd.Series(rec_day[keep][rel >= 0]).groupby(rel[rel >= 0]).min()
    t["relationships"] = records.relationships(w, rel_known, pid, n, block, end_day, post)
    t["risk_assessments"] = assessments(w.traits, t["incidents"], inc["perp"][keep],
                                        inc["sep_s"][keep], inc["exc"][keep], block, post,
                                        sc.dash)
    first_seen = pd.Series(rec_day[keep]).groupby(inc["perp"][keep]).min()
    t["orders"] = extras.orders(w, pid, n, block, start_day, end_day)
    t["custody"] = extras.custody(w, pid, block, start_day, end_day)
    t["markers"] = extras.markers(w, first_seen, pid, block, end_day, post)
    t["referrals"] = extras.referrals(w, t["risk_assessments"], first_seen, pid, block,
                                      start_day, end_day, post)
    return t


def _persons(w: dynamics.World, t: dict[str, pd.DataFrame], perm, pid, n: int, end_day: int,
             post) -> pd.DataFrame:
    """The persons table: only people some exported row refers to, with deaths inside the data
    period (a victim killed, a perpetrator dead). Sets ``w.perp_death`` to the exported deaths."""
    inc = w.incidents
    hom = inc["code"] == dynamics.OFF_CODE["homicide"]
    victim_death = np.full(len(w.rels["perp"]), np.nan)
    victim_death[inc["rel"][hom]] = inc["occurred"][hom]
    victim_death[victim_death >= end_day] = np.nan
    w.perp_death = np.where(w.perp_death < end_day, w.perp_death, np.nan)
    used = pd.unique(pd.concat([t[k][c].dropna() for k, cols in PERSON_REFS.items()
                                if k in t for c in cols], ignore_index=True))
    inv = np.argsort(perm)
    used_idx = inv[pd.Series(used).str.slice(3).astype("int64").to_numpy()]
    return records.persons(w, used_idx, pid, n, victim_death, post)


def simulate_block(preset: Preset, n: int, block: int, seed: int,
                   sc: Scenario = SCENARIOS["default"], managed: int = 0,
                   effect: float = 0.0, tail_months: float = 0.0
                   ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Tables (typed frames) and truth rows of one block of ``n`` perpetrators.

    With ``managed > 0`` a team manages its top ``managed`` people of this block each quarter
    (``management.Team``); the tables then include ``interventions`` and the frame
    ``_interventions_truth`` (true periods) is returned among them."""
    rng = np.random.default_rng([seed, block, 1])
    post = np.random.default_rng([seed, block, 2])
    w, team, burn = _world(preset, n, block, seed, sc, managed, effect, tail_months, rng)
    start_day = int(w.month_day[burn])
    end_day = int(DATA_END.astype("datetime64[D]").astype(np.int64)) + 1
    perm = post.permutation(n + len(w.rels["perp"]))
    pid = records.ids("P", block, perm)
    keep, rec_day = _kept_incidents(w, start_day, end_day)
    t = _record_tables(w, keep, rec_day, pid, n, block, start_day, end_day, post, sc)
    if team is not None:
        death = np.where(w.perp_death < end_day, w.perp_death, np.nan)
        t["interventions"], t["_interventions_truth"] = _interventions(
            team, preset, pid, block, death, end_day, np.random.default_rng([seed, block, 5]))
    t["persons"] = _persons(w, t, perm, pid, n, end_day, post)
    return t, _truth(w, pid, keep, w.month_day, start_day)


def _interventions(team: Team, preset: Preset, pid, block, death, end_day, rng):
    """``dapst_managed`` rows as the force's case system would hold them, and the true periods.

    A period starts on the quarter's first day (recorded within three days), ends six months
    after the last selection (or at death), and its end is recorded within a week; an end not
    yet recorded on the extract date leaves the period open (end null), as the contract says."""
    per = team.periods()
    person = np.array([p for p, _, _ in per], dtype=np.int64)
    first = preset.sim_start_month + np.array([a for _, a, _ in per], dtype=np.int64)
    last = preset.sim_start_month + np.array([b for _, _, b in per], dtype=np.int64)
    start = first.astype("datetime64[D]").astype(np.int64).astype(float)
    end = last.astype("datetime64[D]").astype(np.int64).astype(float)
    end = np.fmin(end, death[person]) if len(person) else end
    k = len(person)
    rec = start + rng.uniform(0.1, 3.0, k)
    end_rec = np.maximum(end + rng.uniform(0.1, 7.0, k), rec + 0.01)
    known_end = end_rec < end_day
    written = rec < end_day
    iid = records.ids("V", block, np.arange(k))
    rows = pd.DataFrame({
        "intervention_id": iid,
        "person_id": pid[person] if k else np.array([], dtype=object),
        "kind": np.full(k, "dapst_managed", dtype=object),
        "start_date": records.dates(start),
        "end_date": records.dates(np.where(known_end, end, np.nan)),
        "recorded_at": records.ts(rec),
        "end_recorded_at": records.ts(np.where(known_end, end_rec, np.nan)),
    })
    truth = pd.DataFrame({
        "intervention_id": iid, "person_id": rows["person_id"],
        "start_date": records.dates(start), "end_date": records.dates(end),
        "written": written, "effect": team.effect, "tail_months": team.tail_months,
    })
    return rows[written].reset_index(drop=True), truth


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
