"""The rankings a force already has, computed on the model's own population for a fair comparison.

Why: "better than the model of last year" is not enough; the claim a DA perpetrator team needs is
"better than what we do today", judged on the same people, the same dates and the same outcome.
Each rule baseline turns indicator columns (names fixed in ``docs/architecture.md``) into one
score, higher = riskier, with its tie-breaks folded in (a cohort of 100 must not depend on row
order). A person a rule cannot score (source absent -> NaN) ranks last.

- ``dash_dara``: any high DASH/DARA grade in the last 12 months (count), then the most recent
  high grade first (``dash_high_12m`` desc, ``days_since_last_high_grade`` asc).
- ``matac_rfgv``: MATAC-style Recency + Frequency + Gravity + Victims, each banded 0-5
  (:data:`RFGV_BANDS`; MATAC's own weights are unpublished, so these are ours, equal weights),
  ties by recency.
- ``v100_harm``: Met V100 style, crime-harm (approximate CHI days) summed over 365 days.
- ``iteration_2``: the previous iteration, DA offences in the last 365 days, ties by the 3-year
  count then recency.
- ``incumbent``: the external system's score (``baseline_scores``; e.g. ILAS) - see
  :func:`incumbent_scores` for the date matching; unscored people rank last.
- ``oracle``: the generator's true probability (``<data>/_truth/risk.parquet``), synthetic data
  only: the ceiling any ranking could reach, reported as "share of oracle".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RULE_BASELINES = ("dash_dara", "matac_rfgv", "v100_harm", "iteration_2")

#: (indicator, [(lower bound, band)] highest first); values below every bound score 0.
RFGV_BANDS = {
    # Recency: days since the last DA incident (lower = more recent = riskier).
    "R": ("days_since_last_da", "le", [(28, 5), (91, 4), (182, 3), (365, 2), (1095, 1)]),
    # Frequency: DA incidents in 3 years.
    "F": ("da_count_3y", "ge", [(10, 5), (6, 4), (3, 3), (2, 2), (1, 1)]),
    # Gravity: the most harmful DA offence in 3 years, approximate CHI days
    # (>= 4 years e.g. GBH with intent; >= 1 year e.g. threats to kill, strangulation, coercive
    # control; >= 26 weeks ABH; >= 12 weeks harassment, breach; any other offence).
    "G": ("gravity_max_3y", "ge", [(1460, 5), (365, 4), (182, 3), (84, 2), (0.5, 1)]),
    # Victims: distinct victims in 3 years (2+ = "serial" in MATAC's definition).
    "V": ("distinct_victims_3y", "ge", [(3, 5), (2, 4), (1, 2)]),
}


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=float)


def lexicographic(*keys: np.ndarray) -> np.ndarray:
    """One float score ordering people by ``keys`` in turn (each higher = riskier; NaN lowest).

    >>> lexicographic(np.array([1, 1, 0.]), np.array([-5, -2, 9.])).tolist()
    [1.0, 2.0, 0.0]
    """
    n = len(keys[0])
    if n == 0:
        return np.zeros(0)
    mat = np.column_stack([np.where(np.isnan(k), -np.inf, k) for k in keys])
    if np.isnan(keys[0]).all():
        return np.full(n, np.nan)
    _, inv = np.unique(mat, axis=0, return_inverse=True)  # rows sorted ascending = dense rank
    return inv.reshape(-1).astype(float)


def band(values: np.ndarray, how: str, cuts) -> np.ndarray:
    """Band each value (NaN -> 0): ``ge``: value >= bound; ``le``: value <= bound."""
    out = np.zeros(len(values))
    for bound, score in reversed(cuts):  # lowest band first, overwritten by higher ones
        hit = values >= bound if how == "ge" else values <= bound
        out[np.nan_to_num(hit, nan=False).astype(bool)] = score
    return out


def rfgv(frame: pd.DataFrame) -> np.ndarray:
    """MATAC-style RFG-V total (0-20) with recency as tie-break."""
    total = np.zeros(len(frame))
    for col, how, cuts in RFGV_BANDS.values():
        total += band(_col(frame, col), how, cuts)
    return lexicographic(total, -_col(frame, "days_since_last_da"))


def incumbent_scores(
    frame: pd.DataFrame, baseline_scores: pd.DataFrame | None, as_of, window_days: int = 31
) -> tuple[np.ndarray, dict]:
    """External scores matched on person, dated in ``(as_of - window_days, as_of]``, latest wins.

    Why that window: the incumbent runs periodically (e.g. monthly); its latest score on or before
    our as-of date is what the team had in hand, and a score older than a cycle is stale. A
    score dated after as-of would use information we do not have. Unmatched people -> NaN (rank
    last); the coverage is reported.
    """
    n = len(frame)
    info: dict[str, Any] = {"system": None, "coverage": 0.0, "scored": 0,
                            "window_days": window_days}
    if baseline_scores is None or len(baseline_scores) == 0:
        return np.full(n, np.nan), info
    t = pd.Timestamp(as_of)
    bs = baseline_scores
    dates = pd.to_datetime(bs["as_of"])
    ok = (dates <= t) & (dates > t - pd.Timedelta(days=window_days))
    bs = bs.loc[ok, ["person_id", "as_of", "score", "system"]].assign(as_of=dates[ok])
    bs = bs.sort_values(["person_id", "as_of"]).drop_duplicates("person_id", keep="last")
    systems = baseline_scores["system"].dropna().astype(str).unique()
    info["system"] = ", ".join(sorted(systems)) or None
    scores = frame[["person_id"]].astype(str).merge(
        bs.assign(person_id=bs["person_id"].astype(str)), on="person_id", how="left"
    )["score"].to_numpy(dtype=float)
    info["scored"] = int(np.isfinite(scores).sum())
    info["coverage"] = float(info["scored"] / n) if n else 0.0
    return scores, info


def oracle_scores(frame: pd.DataFrame, root: Path | None, as_of) -> np.ndarray | None:
    """True probability at the month containing ``as_of`` (latest month_start <= as_of)."""
    path = Path(root) / "_truth" / "risk.parquet" if root is not None else None
    if path is None or not path.is_file():
        return None
    t = pd.Timestamp(as_of)
    # only the month wanted is read: the whole file of a national force is 150 M person-months
    # (~9 GB in memory; reading it all took the national run to 19 GB while scoring)
    lo = (t - pd.Timedelta(days=31)).date()
    truth = pd.read_parquet(path, columns=["person_id", "month_start", "p_serious_harm"],
                            filters=[("month_start", ">", lo), ("month_start", "<=", t.date())])
    if len(truth) == 0:  # the filter kept the window: nothing dated in it
        return None
    sel = truth.assign(month_start=pd.to_datetime(truth["month_start"])).sort_values("month_start")
    sel = sel.drop_duplicates("person_id", keep="last")
    merged = frame[["person_id"]].astype(str).merge(
        sel.assign(person_id=sel["person_id"].astype(str)), on="person_id", how="left"
    )
    return merged["p_serious_harm"].to_numpy(dtype=float)


def compute(features_frame: pd.DataFrame, dataset=None, as_of=None, window_days: int = 31):
    """Baseline scores, one row per row of ``features_frame`` (same order).

    Returns a DataFrame with the rule columns, ``incumbent`` and (synthetic data) ``oracle``;
    ``attrs["incumbent"]`` holds the system name and coverage.
    """
    f = features_frame
    out = pd.DataFrame(index=f.index)
    out["dash_dara"] = lexicographic(_col(f, "dash_high_12m"),
                                     -_col(f, "days_since_last_high_grade"))
    out["matac_rfgv"] = rfgv(f)
    out["v100_harm"] = _col(f, "harm_365d")
    out["iteration_2"] = lexicographic(_col(f, "da_count_365d"), _col(f, "da_count_3y"),
                                       -_col(f, "days_since_last_da"))
    if as_of is None and "as_of" in f and len(f):
        as_of = pd.Timestamp(f["as_of"].iloc[0])
    bs = getattr(dataset, "baseline_scores", None)
    out["incumbent"], info = incumbent_scores(f, bs, as_of, window_days)
    root = getattr(dataset, "root", None)
    oracle = oracle_scores(f, root, as_of) if as_of is not None else None
    if oracle is not None:
        out["oracle"] = oracle
    out.attrs["incumbent"] = info
    return out


def as_date(value) -> dt.date:
    return pd.Timestamp(value).date()
