"""Turn one simulated block into contract tables: what the police record system would hold.

Why a separate step: the latent world (``dynamics``) is what happened; this module decides what
is *visible*: only recorded incidents inside the extract window, relationships police learned of
through those incidents, separations learned late or never. Frames use the typed representation of
``docs/architecture.md`` (str ids, datetime64 dates, nullable booleans, lower-case enums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.contract.schema import OFFENCES
from riskcohort.simulate.dynamics import World

OFF = np.array(OFFENCES, dtype=object)
REL_KIND = np.array(["intimate", "family_parent_child", "family_parent_child", "family_sibling",
                     "family_other"], dtype=object)
SEVERE = ("gbh", "gbh_with_intent", "attempted_murder")
_NULL = np.array(None, dtype=object)  # the null of an optional id column (np.where filler)


def ids(prefix: str, block: int, num) -> np.ndarray:
    """Pseudonymised string ids with leading zeros (never numbers)."""
    s = pd.Series(np.asarray(num), dtype="int64").astype(str).str.zfill(7)
    return (f"{prefix}{block:02d}" + s).to_numpy(dtype=object)


def ts(days) -> pd.Series:
    """Day numbers (float, since 1970; NaN = null) to naive timestamps to the second."""
    sec = np.round(np.asarray(days, dtype=float) * 86400)
    return pd.Series(pd.to_datetime(sec, unit="s")).astype("datetime64[ns]")


def dates(days) -> pd.Series:
    return ts(np.floor(np.asarray(days, dtype=float)))


def boolcol(values, null_mask=None) -> pd.Series:
    s = pd.Series(np.asarray(values, dtype=bool), dtype="boolean")
    if null_mask is not None:
        s[np.asarray(null_mask, dtype=bool)] = pd.NA
    return s


def _maybe(values, rng, p_null) -> pd.Series:
    s = pd.Series(np.asarray(values, dtype=object))
    return s.where(rng.random(len(s)) >= p_null, None)


def incidents(w: World, idx, pid, n, block, rng, order_ok) -> pd.DataFrame:
    """Recorded incidents ``idx`` (already filtered to the extract window, in recording order)."""
    inc, tr = w.incidents, w.traits
    perp, rel, code = inc["perp"][idx], inc["rel"][idx], inc["code"][idx]
    m = len(idx)
    off = OFF[code]
    wpn = np.where(tr.weapons[perp] & (rng.random(m) < 0.3),
                   rng.choice(np.array(["knife", "blunt", "other"], dtype=object), m), "none")
    wpn = np.where(tr.firearms[perp] & (rng.random(m) < 0.1), "firearm", wpn)
    wpn = np.where(rng.random(m) < 0.04, "unknown", wpn)
    injury = np.select(
        [off == "homicide", np.isin(off, SEVERE), np.isin(off, ["abh", "strangulation"])],
        ["fatal", "serious", "minor"], "none")
    oid = inc["order"][idx]
    has_order = (oid >= 0) & order_ok[np.maximum(oid, 0)]
    return pd.DataFrame({
        "incident_id": ids("I", block, np.arange(m)),
        "occurred_at": ts(inc["occurred"][idx]),
        "recorded_at": ts(inc["occurred"][idx] + inc["lag"][idx]),
        "perpetrator_id": pid[perp],
        "victim_id": np.where(rel >= 0, pid[n + np.maximum(rel, 0)], _NULL),
        "relationship_id": np.where(rel >= 0, ids("R", block, np.maximum(rel, 0)), _NULL),
        "domestic": boolcol(inc["domestic"][idx]),
        "offence": off,
        "weapon": _maybe(wpn, rng, 0.1),
        "injury": _maybe(injury, rng, 0.1),
        "children_present": boolcol(rng.random(m) < 0.22, rng.random(m) < 0.3),
        "alcohol": boolcol(tr.alcohol[perp] & (rng.random(m) < 0.5), rng.random(m) < 0.2),
        "drugs": boolcol(tr.drugs[perp] & (rng.random(m) < 0.4), rng.random(m) < 0.2),
        "order_id": np.where(has_order, ids("O", block, np.maximum(oid, 0)), _NULL),
    })


def relationships(w: World, rel_known: pd.Series, pid, n, block, end_day, rng) -> pd.DataFrame:
    """Relationships police learned of (``rel_known``: rel index -> first known day)."""
    R = w.rels
    r = rel_known.index.to_numpy()
    known = rel_known.to_numpy()
    k = len(r)
    ended = R["end"][r] >= 0
    end = np.where(ended, w.month_day[np.maximum(R["end"][r], 0)] + rng.random(k) * 28, np.nan)
    end_known = np.maximum(end, known) + rng.exponential(14, k)
    learned = ended & (rng.random(k) < 0.9) & (np.nan_to_num(end_known, nan=np.inf) < end_day)
    s = R["start"][r]
    start = w.month_day[0] + s * 30.44 + rng.random(k) * 28
    start = np.where(np.isnan(end), start, np.minimum(start, end))
    kind = REL_KIND[R["kind"][r]]
    child_abuses_parent = R["kind"][r] == 2  # person_a is always the parent
    pa_, pb_ = pid[R["perp"][r]], pid[n + r]
    return pd.DataFrame({
        "relationship_id": ids("R", block, r),
        "person_a_id": np.where(child_abuses_parent, pb_, pa_),
        "person_b_id": np.where(child_abuses_parent, pa_, pb_),
        "kind": kind,
        "start_date": dates(np.where(rng.random(k) < 0.15, np.nan, start)),
        "end_date": dates(np.where(learned, end, np.nan)),
        "end_recorded_at": ts(np.where(learned, end_known, np.nan)),
        "cohabiting": boolcol(rng.random(k) < np.where(kind == "intimate", 0.6, 0.7),
                              rng.random(k) < 0.25),
        "recorded_at": ts(known),
    })


def persons(w: World, used: np.ndarray, pid, n, victim_death, rng) -> pd.DataFrame:
    """Perpetrators and victims referenced by any written record (``used``: person indexes)."""
    tr, R = w.traits, w.rels
    used = np.sort(used)
    is_p = used < n
    p = np.where(is_p, used, R["perp"][np.maximum(used - n, 0)])
    vk = np.where(is_p, -1, R["kind"][np.maximum(used - n, 0)])
    entry_day = w.month_day[tr.entry[p]]
    age = tr.age[p] + np.select(
        [vk == 0, vk == 1, vk == 2, vk == 3, vk == 4],
        [rng.normal(-2, 5, len(p)), -rng.uniform(20, 35, len(p)), rng.uniform(20, 35, len(p)),
         rng.normal(0, 6, len(p)), rng.normal(5, 15, len(p))], 0.0)
    age = np.clip(age, 16, 95)
    psex = tr.sex[p]
    vfemale = np.where(vk == 0, np.where(psex == 0, 0.12, 0.95), 0.55)
    sex = np.where(is_p, psex, np.where(rng.random(len(p)) < vfemale, 0, 1))
    sex = np.where(~is_p & (rng.random(len(p)) < 0.01), 2, sex)
    eth = np.where(is_p | (rng.random(len(p)) < 0.85), tr.ethnicity[p],
                   rng.integers(0, 6, len(p)))
    from riskcohort.simulate.traits import ETHNICITIES
    death = np.where(is_p, w.perp_death[p], victim_death[np.maximum(used - n, 0)])
    return pd.DataFrame({
        "person_id": pid[used],
        "birth_date": dates(np.where(rng.random(len(p)) < 0.03, np.nan,
                                     entry_day - age * 365.25)),
        "sex": np.array(["female", "male", "unknown"], dtype=object)[sex],
        "ethnicity": np.array(ETHNICITIES, dtype=object)[eth],
        "death_date": dates(death),
    })
