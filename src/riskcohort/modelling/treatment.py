"""Treatment-aware training and evaluation (issue 17.3): ``[training] interventions``.

Why: once a team manages the people a model ranks highest, their recorded outcomes are the
outcomes *with* management. A model trained on them naively learns that the riskiest-looking
people are safer than they are (the team prevented some of their harm), and the next cohort
drops exactly the people the team should keep. What a ranking should estimate is the risk
*without* intervention. The methods a careful data scientist would compare:

- ``censor``: person-snapshots whose outcome horizon overlaps a management period get weight 0
  (their outcome is not the untreated outcome). Simple; but a team that picks on recent
  incidents picks people *because* of an outcome inside an earlier snapshot's horizon, so the
  rows it drops are disproportionately positive (censoring that depends on the outcome).
- ``ipw``: ``censor`` plus inverse-probability-of-censoring weights: the kept rows are weighted
  by 1 / P(not managed in the horizon | indicators), so people like the managed ones count for
  those left out. Corrects the under-representation if management depended on recorded
  indicators only; unstable when that probability is near 0 (weights are capped).
- ``feature_fixed`` (default): keep every row, add the share of the horizon under management as
  a training feature (``managed_in_horizon``), and set it to 0 ("not managed") when scoring. Uses
  all data; relies on the model separating management from risk. The default since the
  out-of-time comparison on forces with a known effect (``benchmarks/bench_treatment.py``,
  docs/modelling.md "Interventions"): first or second of the four on top-100 and top-200
  capture of the untreated risk on every force measured, and ahead of ``censor`` on both.
  When no training row has management in its horizon it adds nothing (same model as without
  interventions).
- ``ignore``: train on the outcomes as recorded (the naive baseline, for comparison only).

Whatever the method, the intervention-role indicators of the catalogue (``currently_managed``,
``days_since_management_ended``, ``past_management_periods``) are never plain risk inputs
(``training.feature_columns`` excludes them). Only the management periods *known by the as-of
date* are used (recorded before it; an end not yet recorded is an open period).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

METHODS = ("censor", "feature_fixed", "ipw", "ignore")
DEFAULT = "feature_fixed"  #: chosen by benchmarks/bench_treatment.py (docs/modelling.md)
FEATURE = "managed_in_horizon"  #: the training-time feature of ``feature_fixed`` (0 at scoring)
MAX_IPW = 10.0  #: cap of the inverse-probability weights (a near-certain pick is not 1/0)


@dataclass
class Adjusted:
    """Training weights after the method, extra feature columns, and what was done."""

    weights: np.ndarray
    extra: list[str] = field(default_factory=list)
    record: dict = field(default_factory=dict)


def known_periods(tables: dict, known_by) -> pd.DataFrame:
    """Management periods (any kind) recorded before ``known_by``: person_id, start, end (NaT =
    open, also when the end was not yet recorded)."""
    iv = tables.get("interventions")
    if iv is None or len(iv) == 0:
        return pd.DataFrame({"person_id": pd.Series(dtype=str),
                             "start": pd.Series(dtype="datetime64[ns]"),
                             "end": pd.Series(dtype="datetime64[ns]")})
    t = pd.Timestamp(known_by)
    iv = iv.loc[pd.to_datetime(iv["recorded_at"]) < t]
    end = pd.to_datetime(iv["end_date"])
    # an end is known once recorded (the end date itself when the export has no record time)
    rec = pd.to_datetime(iv["end_recorded_at"]) if "end_recorded_at" in iv else end
    end = end.where(rec.fillna(end) < t)
    return pd.DataFrame({"person_id": iv["person_id"].astype(str).to_numpy(),
                         "start": pd.to_datetime(iv["start_date"]).to_numpy(),
                         "end": end.to_numpy()})


def managed_share(frame: pd.DataFrame, periods: pd.DataFrame, horizon_days: int,
                  known_by=None) -> np.ndarray:
    """Share of each row's outcome horizon [as_of, as_of + horizon) under management."""
    rows = pd.DataFrame({"person_id": frame["person_id"].astype(str).to_numpy(),
                         "a": pd.to_datetime(frame["as_of"]).to_numpy()})
    rows["row"] = np.arange(len(rows))
    out = np.zeros(len(rows))
    if len(periods) == 0 or len(rows) == 0:
        return out
    j = rows.merge(periods, on="person_id", how="inner")
    h = pd.Timedelta(days=horizon_days)
    cap = pd.Timestamp(known_by) if known_by is not None else j["a"].max() + h
    end = j["end"].fillna(cap)
    lo = np.maximum(j["a"], j["start"])
    hi = np.minimum(j["a"] + h, end)
    days = (hi - lo).dt.days.clip(lower=0).to_numpy(dtype=float)
    np.add.at(out, j["row"].to_numpy(), days)
    return np.minimum(out / horizon_days, 1.0)


def _ipw(frame: pd.DataFrame, features: list[str], treated: np.ndarray,
         weights: np.ndarray) -> np.ndarray:
    """1 / P(not managed in horizon | indicators), capped; from a regularised logistic model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame[features].to_numpy(dtype=float)
    x = np.where(np.isfinite(x), x, np.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=0))
    x = np.nan_to_num(x)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    model.fit(x, treated.astype(int), logisticregression__sample_weight=weights)
    p_not = 1.0 - model.predict_proba(x)[:, 1]
    return np.minimum(1.0 / np.clip(p_not, 1e-6, 1.0), MAX_IPW)


def for_scoring(feats: pd.DataFrame, model_inputs) -> pd.DataFrame:
    """``feats`` with ``FEATURE`` set to 0 ("not managed") when the model takes it: what a
    ``feature_fixed`` model scores (every scoring path calls this; LightGBM would otherwise
    read the absent column as missing, which only happens to mean 0)."""
    if FEATURE in {str(n) for n in model_inputs}:
        feats = feats.assign(**{FEATURE: 0.0})
    return feats


def adjust(frame: pd.DataFrame, weights: np.ndarray, method: str, tables: dict,
           horizon_days: int, known_by, features: list[str]) -> Adjusted:
    """Apply ``method`` to a training frame (adds ``FEATURE`` to ``frame`` for
    ``feature_fixed``); returns the new weights, the extra columns and a record for the
    manifest."""
    if method not in METHODS:
        raise ValueError(f"interventions method {method!r} not in {METHODS}")
    periods = known_periods(tables, known_by)
    share = managed_share(frame, periods, horizon_days, known_by)
    overlap = share > 0
    w = np.asarray(weights, dtype=float).copy()
    record = {"method": method, "rows": int(len(frame)), "rows_managed_in_horizon":
              int(overlap.sum()), "periods_known": int(len(periods))}
    extra: list[str] = []
    if method in ("censor", "ipw") and overlap.any():
        if method == "ipw" and (~overlap).any() and features:
            w = w * _ipw(frame, features, overlap, w)
            record["max_weight"] = float(w[~overlap].max())
        w[overlap] = 0.0
    elif method == "feature_fixed" and overlap.any():  # nothing managed: no constant column
        frame[FEATURE] = share
        extra = [FEATURE]
    logger.info("training interventions=%s: %d of %d rows have management in their horizon",
                method, int(overlap.sum()), len(frame))
    return Adjusted(w, extra, record)


def by_management(ev: pd.DataFrame, tables: dict, as_of, horizon_days: int,
                  score_cols: list[str]) -> dict:
    """Evaluation of managed and unmanaged people separately: managed = under management (any
    kind) at some time in the outcome horizon after ``as_of`` (known from the data)."""
    from sklearn.metrics import roc_auc_score

    end = pd.Timestamp(as_of) + pd.Timedelta(days=horizon_days)
    periods = known_periods(tables, end)
    share = managed_share(ev.assign(as_of=pd.Timestamp(as_of)), periods, horizon_days, end)
    y = ev["serious_harm"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "definition": "managed = under a recorded intervention at some time in the outcome "
                      "horizon; their outcomes are outcomes WITH management"}
    for name, mask in (("managed", share > 0), ("unmanaged", share == 0)):
        part: dict[str, Any] = {"people": int(mask.sum()), "serious_harm": int(y[mask].sum()),
                "observed_rate": float(y[mask].mean()) if mask.any() else None}
        for col in score_cols:
            s = ev[col].to_numpy(dtype=float)[mask]
            ok = np.isfinite(s)
            yy = y[mask][ok]
            part[f"auc_{col}"] = (float(roc_auc_score(yy, s[ok]))
                                  if len(np.unique(yy)) == 2 else None)
        if "model" in ev:
            part["mean_predicted"] = float(ev["model"].to_numpy(dtype=float)[mask].mean()) \
                if mask.any() else None
        out[name] = part
    return out
