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

AS_OF = ("2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01")
COHORT = 100
POINTS = {
    "strangulation": 10, "threats_to_kill": 6, "dash_high": 6, "weapon": 5, "stalking": 3,
    "breach": 4, "violence": 4, "sexual": 4, "suicide": 3, "recent": 5,
}  # fmt: skip
UNMATCHED = 0.08
COVER_DAYS = 4 * 365  # incumbent system keeps four years of domestic incidents


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


def ilas(t: dict[str, pd.DataFrame], rng, as_of_dates=AS_OF) -> pd.DataFrame:
    """ILAS scores of one block at each date (cohort flag is set later, over all blocks)."""
    dead = t["persons"].set_index("person_id")["death_date"]
    frames = []
    for d in as_of_dates:
        as_of = pd.Timestamp(d)
        s = ilas_points(t, as_of)
        died = dead.reindex(s["person_id"]).to_numpy()
        alive = ~(pd.Series(died).notna().to_numpy() & (died < np.datetime64(as_of)))
        matched = rng.random(len(s)) >= UNMATCHED
        s = s[alive & matched].assign(as_of=as_of, system="ILAS")
        frames.append(s)
    return pd.concat(frames, ignore_index=True)[["person_id", "as_of", "score", "system"]]


def flag_cohort(scores: pd.DataFrame, k: int = COHORT) -> pd.DataFrame:
    """Top ``k`` per date (ties broken by person id, so the flag is deterministic)."""
    s = scores.sort_values(["as_of", "score", "person_id"], ascending=[True, False, True])
    s["in_cohort"] = (s.groupby("as_of").cumcount() < k).astype("boolean")
    return s.sort_values(["as_of", "person_id"]).reset_index(drop=True)
