"""The units of the impact estimate: who started management when, what they were compared on,
and what happened to them in the outcome window.

Why a design of its own: the effect of management can only be read against people the team
could have picked on the same day. So each management start (grouped by month) is a small
"trial": the people whose management of the kind starts that month (treated) and the scored
population of that month not under management on that day (candidates), each described by the
point-in-time indicators and scores the team had at the month start. Outcome windows cover the
management period and 12 months after it; a candidate is followed over exactly the window of the
treated people of its month (the same fixed length for everyone: the nominal management length
plus 12 months). Only windows that end before the extract date are used (a window still open
would under-count harm).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES

logger = logging.getLogger(__name__)

AFTER_DAYS = 365  #: follow-up after management ends (issue 17: "during and 12 months after")


def periods_of(interventions: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Periods of ``kind`` per person (person_id, start, end; end NaT = still open), with
    overlapping or touching rows of one person merged (a re-selection extends management)."""
    iv = interventions.loc[interventions["kind"].astype(str) == kind,
                           ["person_id", "start_date", "end_date"]].copy()
    iv["person_id"] = iv["person_id"].astype(str)
    iv["start"] = pd.to_datetime(iv["start_date"]).dt.normalize()
    iv["end"] = pd.to_datetime(iv["end_date"]).dt.normalize()
    iv = iv.sort_values(["person_id", "start"])
    rows: list[list] = []
    for pid, start, end in iv[["person_id", "start", "end"]].itertuples(index=False):
        if rows and rows[-1][0] == pid and (pd.isna(rows[-1][2]) or start <= rows[-1][2]):
            last = rows[-1]
            last[2] = pd.NaT if pd.isna(end) or pd.isna(last[2]) else max(last[2], end)
            continue
        rows.append([pid, start, end])
    return pd.DataFrame(rows, columns=["person_id", "start", "end"])


def managed_on(periods: pd.DataFrame, day: pd.Timestamp) -> set[str]:
    """People under management on ``day`` (start <= day < end, an open period never ends)."""
    on = (periods["start"] <= day) & (periods["end"].isna() | (periods["end"] > day))
    return set(periods.loc[on, "person_id"])


def typical_days(periods: pd.DataFrame) -> int:
    """Median length in days of the kind's ended periods (the nominal management length)."""
    ended = periods.dropna(subset=["end"])
    if len(ended) == 0:
        return 182
    return int((ended["end"] - ended["start"]).dt.days.median())


def treated_units(periods: pd.DataFrame, date_from, date_to, extract_end,
                  horizon_days: int) -> tuple[pd.DataFrame, dict]:
    """Management starts in [date_from, date_to] whose fixed outcome window is complete.

    The window is the same length for everyone (``horizon_days`` from the start), *not* the
    person's own management plus 12 months: a team re-selects the people who stay active, so a
    window that grows with re-selection would follow the riskiest managed people longest and
    make even a team that does nothing look harmful. Returns (units with person_id, start, end,
    window_end, month) and counts of the starts left out (window not complete by the extract).
    """
    lo, hi = pd.Timestamp(date_from), pd.Timestamp(date_to)
    p = periods.loc[(periods["start"] >= lo) & (periods["start"] <= hi)].copy()
    counts = {"starts_in_range": int(len(p)), "still_open": int(p["end"].isna().sum())}
    p["window_end"] = p["start"] + pd.Timedelta(days=int(horizon_days))
    complete = p["window_end"] <= pd.Timestamp(extract_end)
    counts["window_not_complete"] = int((~complete).sum())
    p = p.loc[complete]
    p["month"] = p["start"].dt.to_period("M").dt.to_timestamp()
    return p.reset_index(drop=True), counts


def serious_events(incidents: pd.DataFrame, offences=SERIOUS_HARM_OFFENCES,
                   domestic_only: bool = True) -> pd.DataFrame:
    """(person_id, occurred) of every serious-harm incident (the contract's default outcome)."""
    i = incidents
    keep = i["offence"].astype(str).isin(list(offences)) & i["perpetrator_id"].notna()
    if domestic_only:
        keep &= i["domestic"].fillna(False).astype(bool)
    return pd.DataFrame({"person_id": i.loc[keep, "perpetrator_id"].astype(str),
                         "occurred": pd.to_datetime(i.loc[keep, "occurred_at"])})


def outcomes(units: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """1 when the unit's person perpetrated serious harm in [start, window_end), else 0."""
    u = units[["person_id", "start", "window_end"]].reset_index(drop=True)
    u["row"] = np.arange(len(u))
    j = u.merge(events, on="person_id", how="inner")
    hit = j.loc[(j["occurred"] >= j["start"]) & (j["occurred"] < j["window_end"]), "row"]
    y = np.zeros(len(u), dtype=float)
    y[hit.unique()] = 1.0
    return y


def managed_within(units: pd.DataFrame, periods: pd.DataFrame) -> np.ndarray:
    """Whether each (comparison) unit's person started management inside its own window."""
    u = units[["person_id", "start", "window_end"]].reset_index(drop=True)
    u["row"] = np.arange(len(u))
    j = u.merge(periods[["person_id", "start"]].rename(columns={"start": "m_start"}),
                on="person_id", how="inner")
    hit = j.loc[(j["m_start"] > j["start"]) & (j["m_start"] < j["window_end"]), "row"]
    out = np.zeros(len(u), dtype=bool)
    out[hit.unique()] = True
    return out
