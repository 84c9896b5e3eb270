"""The incumbent system ``ILAS``: an expert-weighted indicator score on recorded data.

Why: forces already rank perpetrators with checklists of weighted indicators; a new model has to
beat *that*, not just chance. ILAS scores at quarterly dates from records known before the date:
fixed expert points for strangulation, threats to kill, a high DASH/DARA grade, weapons, stalking
or harassment, breaches, serious violence, sexual offences, suicide markers, plus a capped count
of recent DA crimes and a recency bonus. It misses what a model can learn (separation, release
from custody, interactions, decay), so it is better than chance and worse than a good model.

Coverage (documented in docs/synthetic-force.md): persons with a recorded domestic incident in
the 4 years before the date, alive, minus ~8% whose records the incumbent system never matched;
so it covers most but not all of the contract's scored population (5-year lookback).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.simulate.presets import DATA_END

AS_OF = ("2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01")
COHORT = 100
POINTS = {
    "strangulation": 10, "threats_to_kill": 6, "dash_high": 6, "weapon": 5, "stalking": 3,
    "breach": 4, "violence": 4, "sexual": 4, "suicide": 3, "recent": 5,
}  # fmt: skip
UNMATCHED = 0.08
COVER_DAYS = 4 * 365  # incumbent system keeps four years of domestic incidents
MONTHLY_MONTHS = 36  # monthly scores over the last three years of records


def _flag(frame, mask, name):
    return frame.loc[mask, ["person_id"]].drop_duplicates().assign(**{name: 1})


def ilas_points(t: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Points per person at ``as_of`` (before the cohort cut and the coverage gap)."""
    inc = t["incidents"]
    inc = inc[(inc["recorded_at"] < as_of) & inc["domestic"].fillna(False).astype(bool)]
    inc = inc.rename(columns={"perpetrator_id": "person_id"})
    crime = inc[(inc["offence"] != "non_crime") & (inc["recorded_at"] >= as_of - pd.Timedelta(
        days=3 * 365))]
    y1 = crime["recorded_at"] >= as_of - pd.Timedelta(days=365)
    off = crime["offence"]
    pop = inc[inc["recorded_at"] >= as_of - pd.Timedelta(days=COVER_DAYS)]
    base = pd.DataFrame({"person_id": pop["person_id"].unique()})
    c12 = crime[y1].groupby("person_id").size().rename("n12")
    last = crime.groupby("person_id")["recorded_at"].max().rename("last")
    base = base.merge(c12, on="person_id", how="left").merge(last, on="person_id", how="left")
    ra = t["risk_assessments"].rename(columns={"perpetrator_id": "person_id"})
    ra = ra[ra["assessed_at"] < as_of]
    mk = t["markers"]
    mk = mk[mk["recorded_at"] < as_of]
    flags = [
        _flag(crime, off == "strangulation", "strangulation"),
        _flag(ra, ra["q_strangulation"].fillna(False).astype(bool), "strangulation"),
        _flag(crime, off == "threats_to_kill", "threats_to_kill"),
        _flag(ra, (ra["grade"] == "high") & (ra["assessed_at"] >= as_of - pd.Timedelta(days=365)),
              "dash_high"),
        _flag(crime, crime["weapon"].isin(["knife", "firearm"]), "weapon"),
        _flag(mk, mk["kind"].isin(["weapons", "firearms_access"]), "weapon"),
        _flag(crime, y1 & off.isin(["stalking", "harassment"]), "stalking"),
        _flag(crime, y1 & (off == "breach_of_order"), "breach"),
        _flag(crime, off.isin(["abh", "gbh", "gbh_with_intent", "attempted_murder"]), "violence"),
        _flag(crime, off == "sexual_offence", "sexual"),
        _flag(mk, mk["kind"] == "suicide_self_harm", "suicide"),
    ]
    out = base
    for f in flags:
        name = f.columns[-1]
        f = f.drop_duplicates("person_id")
        if name in out:
            out = out.merge(f.rename(columns={name: "_x"}), on="person_id", how="left")
            out[name] = out[[name, "_x"]].max(axis=1)
            out = out.drop(columns="_x")
        else:
            out = out.merge(f, on="person_id", how="left")
    out = out.fillna({c: 0 for c in out.columns if c != "last"})
    out["recent"] = (out["last"] >= as_of - pd.Timedelta(days=90)).astype(int)
    score = sum(POINTS[k] * out[k] for k in POINTS) + 2 * np.minimum(out["n12"], 5)
    return pd.DataFrame({"person_id": out["person_id"], "score": score.astype(float)})


def as_of_dates(monthly: bool = True, data_start=None,
                months: int = MONTHLY_MONTHS) -> list[pd.Timestamp]:
    """The dates ILAS scores at: every month start of the last ``months`` months of records,
    from one year after ``data_start`` at the earliest (so any as-of date in that period has a
    score in the 31 days before it), or the five quarterly dates of ``AS_OF`` (national preset,
    where monthly scores would be ~50 M rows)."""
    if not monthly:
        return [pd.Timestamp(d) for d in AS_OF]
    last = pd.Timestamp(str(DATA_END)).to_period("M").start_time
    dates = pd.date_range(end=last, periods=months, freq="MS")
    if data_start is not None:
        dates = dates[dates >= pd.Timestamp(str(data_start)) + pd.DateOffset(years=1)]
    return list(dates)


_DAY = 86400  # seconds


def _incident_events(ev, inc: pd.DataFrame, pcode: np.ndarray) -> None:
    """Add the domestic incidents to ``ev``: the population window and one series per kind of
    crime the ILAS points look at."""
    rec = _sec(inc["recorded_at"])
    off = inc["offence"].to_numpy(dtype=object)
    crime = off != "non_crime"
    ev.add("pop", pcode, rec)
    for name, mask in (("crime", crime), ("strangulation", off == "strangulation"),
                       ("threats_to_kill", off == "threats_to_kill"),
                       ("weapon", crime & inc["weapon"].isin(["knife", "firearm"]).to_numpy()),
                       ("stalking", np.isin(off, ["stalking", "harassment"])),
                       ("breach", off == "breach_of_order"),
                       ("violence", np.isin(off, ["abh", "gbh", "gbh_with_intent",
                                                  "attempted_murder"])),
                       ("sexual", off == "sexual_offence")):
        ev.add(name, pcode[mask], rec[mask])


def _assessment_marker_events(ev, t: dict[str, pd.DataFrame], people: np.ndarray) -> None:
    """Add DASH answers/grades and warning markers of the block's known perpetrators to ``ev``
    (people with no domestic incident are never scored, so their rows are dropped)."""
    ra = t["risk_assessments"]
    rcode = _codes(people, ra["perpetrator_id"])
    ok = rcode >= 0
    at = _sec(ra["assessed_at"])
    ev.add("q_strangulation", rcode[ok & ra["q_strangulation"].fillna(False).to_numpy(bool)],
           at[ok & ra["q_strangulation"].fillna(False).to_numpy(bool)])
    high = ok & (ra["grade"] == "high").to_numpy()
    ev.add("dash_high", rcode[high], at[high])
    mk = t["markers"]
    mcode = _codes(people, mk["person_id"])
    mat = _sec(mk["recorded_at"])
    for name, kinds in (("marker_weapon", ["weapons", "firearms_access"]),
                        ("suicide", ["suicide_self_harm"])):
        m = (mcode >= 0) & mk["kind"].isin(kinds).to_numpy()
        ev.add(name, mcode[m], mat[m])


def _candidates(ev, persons: pd.DataFrame, people: np.ndarray, dates: pd.DatetimeIndex,
                matched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person, date) pairs the incumbent scores: a domestic incident in the coverage window,
    alive at the date and matched by the system. Person-major, date-minor, so query keys are
    sorted for ``searchsorted``."""
    tq = np.tile(_sec(pd.Series(dates)), len(people))
    pq_ = np.repeat(np.arange(len(people)), len(dates))
    inpop = ev.count("pop", pq_, tq, COVER_DAYS * _DAY) > 0
    dead = persons.set_index("person_id")["death_date"].reindex(people)
    death = _sec(dead)[pq_]
    inpop &= ~((death >= 0) & (death < tq)) & matched[pq_]
    return pq_[inpop], tq[inpop]


def _points(ev, pq_: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """ILAS points of each candidate pair: the same sum as :func:`ilas_points`."""
    y3, y1 = 3 * 365 * _DAY, 365 * _DAY

    def has(name, window):
        return (ev.count(name, pq_, tq, window) > 0).astype(float)

    return (POINTS["strangulation"] * np.maximum(has("strangulation", y3),
                                                 has("q_strangulation", None))
            + POINTS["threats_to_kill"] * has("threats_to_kill", y3)
            + POINTS["dash_high"] * has("dash_high", y1)
            + POINTS["weapon"] * np.maximum(has("weapon", y3), has("marker_weapon", None))
            + POINTS["stalking"] * has("stalking", y1)
            + POINTS["breach"] * has("breach", y1)
            + POINTS["violence"] * has("violence", y3)
            + POINTS["sexual"] * has("sexual", y3)
            + POINTS["suicide"] * has("suicide", None)
            + POINTS["recent"] * has("crime", 90 * _DAY)
            + 2 * np.minimum(ev.count("crime", pq_, tq, y1), 5))



def ilas(t: dict[str, pd.DataFrame], rng, as_of_dates=AS_OF) -> pd.DataFrame:
    """ILAS scores of one block at each date (cohort flag is set later, over all blocks).

    Same points as :func:`ilas_points` (the readable reference, tested equal), computed for all
    dates at once: each indicator is a count of a person's events in a window before the date,
    read off one sorted array of (person, time) keys with ``searchsorted``. About 8% of people
    are never matched by the incumbent system (the same people at every date)."""
    dates = pd.DatetimeIndex(pd.to_datetime(list(as_of_dates)))
    inc = t["incidents"]
    inc = inc[inc["domestic"].fillna(False).astype(bool)]
    pcode, people = pd.factorize(inc["perpetrator_id"].astype(str), sort=True)
    people = np.asarray(people, dtype=object)
    if len(people) == 0 or len(dates) == 0:
        return pd.DataFrame(columns=["person_id", "as_of", "score", "system"])
    matched = rng.random(len(people)) >= UNMATCHED
    ev = _Events(len(people))
    _incident_events(ev, inc, pcode)
    _assessment_marker_events(ev, t, people)
    pq_, tq = _candidates(ev, t["persons"], people, dates, matched)
    score = _points(ev, pq_, tq)
    return pd.DataFrame({
        "person_id": people[pq_].astype(object),
        "as_of": pd.Series(tq * 1_000_000_000).astype("datetime64[ns]"),
        "score": score.astype(float), "system": "ILAS",
    }).sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)


_SPAN = np.int64(2**40)  # seconds; larger than any record time offset
_EPOCH = np.int64(-(2**39))  # times are shifted to be positive (records from 1970 - 17,000 y)


def _sec(col) -> np.ndarray:
    """Timestamps to int64 seconds since 1970 (NaT -> -1)."""
    v = pd.to_datetime(pd.Series(col)).to_numpy(dtype="datetime64[s]")
    out = v.astype(np.int64)
    out[np.isnat(v)] = -1
    return out


def _codes(people: np.ndarray, ids) -> np.ndarray:
    """Index of each id in the sorted ``people`` array, -1 if absent."""
    ids = pd.Series(ids).astype(object).where(pd.Series(ids).notna(), "").astype(str).to_numpy()
    pos = np.clip(np.searchsorted(people, ids), 0, max(len(people) - 1, 0))
    return np.where(people[pos] == ids, pos, -1)


class _Events:
    """Per-kind sorted (person, time) keys; ``count`` = events in [T - window, T)."""

    def __init__(self, n: int):
        self.keys: dict[str, np.ndarray] = {}

    def add(self, name, person, sec) -> None:
        k = person.astype(np.int64) * _SPAN + (sec.astype(np.int64) - _EPOCH)
        k = np.sort(k[sec >= 0])
        self.keys[name] = k if name not in self.keys else np.sort(np.r_[self.keys[name], k])

    def count(self, name, person, t, window) -> np.ndarray:
        k = self.keys[name]
        base = person.astype(np.int64) * _SPAN - _EPOCH
        hi = np.searchsorted(k, base + t, side="left")
        lo = np.searchsorted(k, base + (t - window if window is not None else _EPOCH),
                             side="left")
        return hi - lo


def flag_cohort(scores: pd.DataFrame, k: int = COHORT) -> pd.DataFrame:
    """Top ``k`` per date (ties broken by person id, so the flag is deterministic)."""
    s = scores.sort_values(["as_of", "score", "person_id"], ascending=[True, False, True])
    s["in_cohort"] = (s.groupby("as_of").cumcount() < k).astype("boolean")
    return s.sort_values(["as_of", "person_id"]).reset_index(drop=True)
