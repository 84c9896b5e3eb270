"""Balance and the prognostic model of harm without management.

Why a prognostic model: inside the cut-off region risk still falls with rank, so the comparison
needs each person's expected harm without management given what the team saw
(:func:`prognostic`, fitted on unmanaged people only, out-of-fold by person);
:func:`smd` reports how alike the compared groups are on the scores the team could have used.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)


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


MAX_NEGATIVES = 150_000  #: people without the outcome a fold is fitted on (weighted back)


def prognostic(x: pd.DataFrame, y: np.ndarray, fit: np.ndarray, groups: np.ndarray,
               seed: int = 0, folds: int = 3) -> np.ndarray:
    """Expected outcome without management given what the team saw, for every row.

    Fitted on the unpicked rows (``fit``) of the *whole* scored population, not just the top:
    the signal that separates people near a cut-off is weak and rare, and a model fitted on a
    few thousand rows shrinks the differences between them (on a synthetic force it saw less
    than half of the true risk gap between the picked and the people just below them). Every
    row's prediction is out-of-fold by person (folds split people, a model never sees the
    person it predicts). Rows without the outcome are subsampled to ``MAX_NEGATIVES`` per fold
    and weighted back, so probabilities keep their level.
    """
    xv = x.to_numpy(dtype=float)
    out = np.zeros(len(x))
    rng = np.random.default_rng(seed)
    with threadpool_limits(1):
        for train, test in GroupKFold(n_splits=folds).split(xv, groups=groups):
            train = train[fit[train]]
            pos, neg = train[y[train] == 1], train[y[train] != 1]
            take = rng.choice(neg, min(MAX_NEGATIVES, len(neg)), replace=False)
            rows = np.concatenate([pos, take])
            back = len(neg) / max(len(take), 1)
            w = np.concatenate([np.ones(len(pos)), np.full(len(take), back)])
            model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05,
                                                   max_leaf_nodes=31, min_samples_leaf=100,
                                                   l2_regularization=1.0, random_state=seed)
            model.fit(xv[rows], y[rows].astype(int), sample_weight=w)
            out[test] = model.predict_proba(xv[test])[:, 1]
    return out


def recalibrate(mu0: np.ndarray, score: np.ndarray, y: np.ndarray, fit: np.ndarray
                ) -> tuple[np.ndarray, dict]:
    """``mu0`` re-fitted near the cut-off: logit(mu) = a + b logit(mu0) + c z, where ``z`` is the
    selection score (standardised over the rows it is fitted on; not clipped, so above the cut
    the fit extrapolates linearly on the logit scale, as a parametric regression discontinuity
    does).

    Why: a tree model predicts the same risk for everyone in its top leaf, so among the few
    people at the very top it cannot tell the picked (higher on the ranking) from the people just
    below them, and under-predicts the picked. Fitted on unpicked people near the cut (``fit``),
    the slope on the selection score carries the risk gradient along the ranking to the picked;
    the clip keeps it from extrapolating beyond the unpicked people it saw."""
    from sklearn.linear_model import LogisticRegression

    ok = np.isfinite(score)
    sc = np.where(ok, score, np.nanmin(score[ok]) if ok.any() else 0.0)
    ref = sc[fit]
    if fit.sum() < 50 or y[fit].sum() < 5 or np.std(ref) == 0:
        return mu0, {"applied": False, "reason": "too few unpicked people or events near the cut"}
    z = (sc - ref.mean()) / ref.std()
    lm = np.log(mu0 / (1 - np.clip(mu0, None, 1 - 1e-6)))
    xm = np.column_stack([lm, z])
    model = LogisticRegression(C=1e4, max_iter=1000).fit(xm[fit], y[fit].astype(int))
    mu = model.predict_proba(xm)[:, 1]
    b, c = model.coef_[0]
    return mu, {"applied": True, "slope_prognostic": round(float(b), 4),
                "slope_selection_score": round(float(c), 4), "rows": int(fit.sum())}
