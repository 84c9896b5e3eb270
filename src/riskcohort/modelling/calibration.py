"""Calibrators mapping LightGBM's raw margin (log-odds) to a probability, stored as plain JSON.

Why: the booster is trained on down-sampled negatives with a log-loss objective and its margin is
only roughly a log-odds; a team reading "12% chance of serious harm within a year" needs that
number to hold on future data. The calibrator is fitted on *out-of-time* margins (rolling-origin
validation predictions), never on the training rows.

Why strictly increasing: the cohort is a ranking. A step-function calibrator (plain isotonic
regression) puts hundreds of people on one plateau, so the cut at k splits ties arbitrarily and
every local explanation on the probability scale is zero. Both forms here are strictly
increasing in the margin, so distinct margins always give distinct scores:

- ``platt``: ``p = 1 / (1 + exp(-(a * margin + b)))``; smooth, 2 parameters (``a > 0`` enforced).
- ``isotonic``: pool-adjacent-violators, then each pooled block becomes one knot (its mean margin,
  its rate), joined by straight lines on the log-odds scale; beyond the outer knots the log-odds
  continue with the Platt slope. Flexible where the data are dense, never flat.

``choose`` fits both on the earlier part of the out-of-time data and keeps the one with the lower
log loss on the later part (time-ordered, like deployment). JSON keeps the calibrator readable and
loadable without pickle.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

EPS = 1e-6
MIN_SLOPE = 1e-3  # a calibrator must rank as the margin does, even when the margin is weak
METHODS = ("platt", "isotonic")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _platt(margin: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> dict:
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin[:, None], y, sample_weight=weight)
    a = float(lr.coef_[0, 0])
    return {"method": "platt", "a": max(a, MIN_SLOPE), "b": float(lr.intercept_[0]),
            "slope_floored": a < MIN_SLOPE}


def _isotonic(margin: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> dict:
    platt = _platt(margin, y, weight)
    fitted = IsotonicRegression(out_of_bounds="clip").fit(
        margin, y, sample_weight=weight).predict(margin)
    # each pooled block (one fitted value) -> one knot at its (weighted) mean margin
    values, inverse = np.unique(fitted, return_inverse=True)
    if weight is None:
        centres = np.bincount(inverse, weights=margin) / np.bincount(inverse)
    else:
        centres = np.bincount(inverse, weights=margin * weight) / np.bincount(inverse, weight)
    logits = _logit(values)
    keep = np.r_[True, (np.diff(logits) > 0) & (np.diff(centres) > 0)]  # clipping can tie ends
    x, z = centres[keep], logits[keep]
    if len(x) < 2:  # one block: nothing to interpolate; the 2-parameter form is the safe choice
        return {**platt, "fallback_from": "isotonic"}
    return {"method": "isotonic", "form": "logit-interpolated", "x": [float(v) for v in x],
            "z": [float(v) for v in z], "tail_slope": platt["a"]}


def fit(method: str, margin: np.ndarray, y: np.ndarray,
        weight: np.ndarray | None = None) -> dict:
    """Fit one calibrator; returns its JSON form.

    ``weight``: how many people each row stands for (sampled validation negatives carry
    ``1 / rate``), so the fit sees the true share of positives, not the sampled one.

    >>> cal = fit("platt", np.array([-3.0, -1, 0, 1, 3]), np.array([0, 0, 1, 0, 1]))
    >>> cal["method"], bool(0 < apply(cal, np.array([0.0]))[0] < 1)
    ('platt', True)
    """
    margin = np.asarray(margin, dtype=float)
    y = np.asarray(y, dtype=float)
    weight = None if weight is None else np.asarray(weight, dtype=float)
    if method == "platt":
        return _platt(margin, y, weight)
    if method == "isotonic":
        return _isotonic(margin, y, weight)
    raise ValueError(f"unknown calibration method {method!r}; one of {', '.join(METHODS)}")


def apply(cal: dict, margin: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for raw margins (strictly increasing in the margin).

    >>> cal = {"method": "isotonic", "form": "logit-interpolated", "x": [0.0, 1.0],
    ...        "z": [-2.0, 0.0], "tail_slope": 1.0}
    >>> [round(float(p), 4) for p in apply(cal, np.array([-1.0, 0.0, 0.5, 1.0, 2.0]))]
    [0.0474, 0.1192, 0.2689, 0.5, 0.7311]
    """
    margin = np.asarray(margin, dtype=float)
    method = cal.get("method")
    if method == "platt":
        return _sigmoid(cal["a"] * margin + cal["b"])
    if method == "isotonic" and cal.get("form") == "logit-interpolated":
        x, z, s = np.asarray(cal["x"]), np.asarray(cal["z"]), float(cal["tail_slope"])
        inner = np.interp(margin, x, z)
        out = np.where(margin < x[0], z[0] + s * (margin - x[0]),
                       np.where(margin > x[-1], z[-1] + s * (margin - x[-1]), inner))
        return _sigmoid(out)
    if method == "isotonic":
        raise ValueError("calibrator is a step-function isotonic map written by an older "
                         "riskcohort version (it ties people at the top); re-run the model")
    raise ValueError(f"unknown calibrator method {method!r}; one of {', '.join(METHODS)}")


def log_loss(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.mean(loss) if weight is None else np.average(loss, weights=weight))


def choose(method: str, margin: np.ndarray, y: np.ndarray, time_key: np.ndarray,
           weight: np.ndarray | None = None) -> dict:
    """Pick (if ``method == "auto"``) and fit the calibrator on time-ordered out-of-time data.

    The earlier half of the distinct ``time_key`` values (snapshot dates) fits both candidates;
    the later half scores them by log loss; the winner is refitted on all of it. The selection
    record (losses) is kept in the JSON for the run manifest. ``weight``: people per row
    (sampled validation negatives), used in every fit and loss; None = one each.
    """
    y = np.asarray(y, dtype=float)
    margin = np.asarray(margin, dtype=float)
    time_key = np.asarray(time_key)
    w = None if weight is None else np.asarray(weight, dtype=float)
    if method != "auto":
        cal = fit(method, margin, y, w)
        if w is not None:
            cal["weighted"] = True  # fitted on sampled rows weighted back to the population
        cal["selection"] = {"chosen_by": "config"}
        return cal
    times = np.unique(time_key)
    cut = times[len(times) // 2] if len(times) > 1 else None
    early = time_key < cut if cut is not None else np.ones(len(y), bool)
    late = ~early if cut is not None else early
    losses = {}
    if y[early].sum() > 0 and y[late].sum() > 0:
        for m in METHODS:
            part = fit(m, margin[early], y[early], None if w is None else w[early])
            losses[m] = log_loss(y[late], apply(part, margin[late]),
                                 None if w is None else w[late])
        best = min(losses, key=losses.__getitem__)
    else:
        best = "platt"  # too few positives to compare: the 2-parameter form is the safe choice
    cal = fit(best, margin, y, w)
    if w is not None:
        cal["weighted"] = True  # fitted on sampled rows weighted back to the population
    cal["selection"] = {"chosen_by": "later-period log loss", "log_loss": losses,
                        "split_at": str(cut) if cut is not None else None}
    return cal
