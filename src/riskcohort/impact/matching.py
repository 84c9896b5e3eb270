"""Propensity of being picked, from what the team could see, and nearest-neighbour matching.

Why a flexible propensity model: a team usually manages its top K by *some* score (the
incumbent's, a rule, its own judgement). When the rule is unknown, the best available proxy is
the probability of being picked given everything the team had at the month start: the
point-in-time indicators, the incumbent's score and the rule scores, each also as a rank within
the month (a top-K rule depends on rank, not on level). Gradient boosting learns a threshold on
whichever of them the team used; predictions are out-of-fold by person, so a picked person's own
row never sets its propensity. Matching is within the month, on the logit of the propensity,
with a caliper (0.2 standard deviations of the logit, Austin 2011) and with replacement; what
small differences remain are corrected by a prognostic model (:func:`prognostic`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

CALIPER_SD = 0.2
N_NEIGHBOURS = 3
MAX_FIT_CONTROLS = 60_000  #: unpicked rows a fold is fitted on (all picked rows are kept)


def propensity(x: pd.DataFrame, picked: np.ndarray, groups: np.ndarray, seed: int = 0,
               folds: int = 3) -> np.ndarray:
    """Out-of-fold P(picked | what the team saw), one value per row of ``x``."""
    out = np.full(len(x), np.nan)
    rng = np.random.default_rng(seed)
    xv = x.to_numpy(dtype=float)
    # one thread: OpenMP's spinning threads slow a small fit down many times on a busy machine
    with threadpool_limits(1):
        for train, test in GroupKFold(n_splits=folds).split(xv, picked, groups):
            out[test] = _fold(xv, picked, train, test, rng, seed)
    return out


def _fold(xv, picked, train, test, rng, seed) -> np.ndarray:
    """Fit on ``train`` (unpicked rows subsampled, weighted back) and predict ``test``."""
    pos, neg = train[picked[train]], train[~picked[train]]
    if len(neg) > MAX_FIT_CONTROLS:
        neg = rng.choice(neg, MAX_FIT_CONTROLS, replace=False)
    rows = np.concatenate([pos, neg])
    # the unpicked rows are a sample: weight them back so probabilities stay calibrated
    back = (~picked[train]).sum() / max(len(neg), 1)
    w = np.concatenate([np.ones(len(pos)), np.full(len(neg), back)])
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08,
                                           max_leaf_nodes=15, min_samples_leaf=20,
                                           l2_regularization=1.0, random_state=seed)
    model.fit(xv[rows], picked[rows].astype(int), sample_weight=w)
    return model.predict_proba(xv[test])[:, 1]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def match(month: np.ndarray, score: np.ndarray, picked: np.ndarray, caliper: float,
          k: int = N_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """(treated row, comparison row) pairs: up to ``k`` nearest unpicked rows of the same month
    within ``caliper`` on ``score``, with replacement. Treated rows without one are unmatched."""
    t_rows, c_rows = [], []
    for m in np.unique(month[picked]):
        ti = np.flatnonzero(picked & (month == m))
        ci = np.flatnonzero(~picked & (month == m))
        if len(ci) == 0:
            continue
        order = ci[np.argsort(score[ci], kind="stable")]
        s = score[order]
        for t in ti:
            pos = np.searchsorted(s, score[t])
            lo, hi = max(pos - k, 0), min(pos + k, len(s))
            cand = np.arange(lo, hi)
            d = np.abs(s[cand] - score[t])
            near = cand[np.argsort(d, kind="stable")[:k]]
            near = near[np.abs(s[near] - score[t]) <= caliper]
            t_rows += [t] * len(near)
            c_rows += order[near].tolist()
    return np.asarray(t_rows, dtype=int), np.asarray(c_rows, dtype=int)


def smd(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None = None) -> float:
    """Standardised mean difference (treated ``a`` vs comparison ``b``, optional weights)."""
    a = a[np.isfinite(a)]
    ok = np.isfinite(b)
    b, wb = b[ok], (None if wb is None else wb[ok])
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    mb = np.average(b, weights=wb)
    vb = np.average((b - mb) ** 2, weights=wb)
    sd = np.sqrt((a.var() + vb) / 2)
    return float((a.mean() - mb) / sd) if sd > 0 else 0.0


def prognostic(x: pd.DataFrame, y: np.ndarray, fit: np.ndarray, groups: np.ndarray,
               seed: int = 0, folds: int = 3) -> np.ndarray:
    """Expected outcome without management given what the team saw, for every row.

    Fitted on the unpicked rows only (``fit``); their own predictions are out-of-fold (by
    person) so a person's outcome never predicts itself; other rows get the folds' mean. Used
    to correct the small differences matching leaves (Abadie & Imbens 2011 bias correction).
    """
    xv = x.to_numpy(dtype=float)
    out = np.zeros(len(x))
    idx = np.flatnonzero(fit)
    other = np.flatnonzero(~fit)
    with threadpool_limits(1):
        for train, test in GroupKFold(n_splits=folds).split(idx, groups=groups[idx]):
            model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05,
                                                   max_leaf_nodes=15, min_samples_leaf=50,
                                                   l2_regularization=1.0, random_state=seed)
            model.fit(xv[idx[train]], y[idx[train]].astype(int))
            out[idx[test]] = model.predict_proba(xv[idx[test]])[:, 1]
            if len(other):
                out[other] += model.predict_proba(xv[other])[:, 1] / folds
    return out
