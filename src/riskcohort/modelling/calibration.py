"""Calibrators mapping LightGBM's raw margin (log-odds) to a probability, stored as plain JSON.

Why: the booster is trained on down-sampled negatives with a log-loss objective and its margin is
only roughly a log-odds; a team reading "12% chance of serious harm within a year" needs that
number to hold on future data. The calibrator is fitted on *out-of-time* margins (rolling-origin
validation predictions), never on the training rows. Two forms:

- ``platt``: ``p = 1 / (1 + exp(-(a * margin + b)))``; smooth, strictly increasing, 2 parameters.
- ``isotonic``: a monotone step function (pool-adjacent-violators), stored as its breakpoints and
  applied with linear interpolation; flexible but can tie people at the top.

``choose`` fits both on the earlier part of the out-of-time data and keeps the one with the lower
log loss on the later part (time-ordered, like deployment). JSON keeps the calibrator readable and
loadable without pickle.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def fit(method: str, margin: np.ndarray, y: np.ndarray) -> dict:
    """Fit one calibrator; returns its JSON form.

    >>> cal = fit("platt", np.array([-3.0, -1, 0, 1, 3]), np.array([0, 0, 1, 0, 1]))
    >>> cal["method"], bool(0 < apply(cal, np.array([0.0]))[0] < 1)
    ('platt', True)
    """
    margin = np.asarray(margin, dtype=float)
    y = np.asarray(y, dtype=float)
    if method == "platt":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin[:, None], y)
        return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip").fit(margin, y)
        return {
            "method": "isotonic",
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
        }
    raise ValueError(f"unknown calibration method {method!r}")


def apply(cal: dict, margin: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for raw margins."""
    margin = np.asarray(margin, dtype=float)
    if cal["method"] == "platt":
        return 1.0 / (1.0 + np.exp(-(cal["a"] * margin + cal["b"])))
    return np.interp(margin, np.asarray(cal["x"]), np.asarray(cal["y"]))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose(method: str, margin: np.ndarray, y: np.ndarray, time_key: np.ndarray) -> dict:
    """Pick (if ``method == "auto"``) and fit the calibrator on time-ordered out-of-time data.

    The earlier half of the distinct ``time_key`` values (snapshot dates) fits both candidates;
    the later half scores them by log loss; the winner is refitted on all of it. The selection
    record (losses) is kept in the JSON for the run manifest.
    """
    y = np.asarray(y, dtype=float)
    margin = np.asarray(margin, dtype=float)
    if method != "auto":
        cal = fit(method, margin, y)
        cal["selection"] = {"chosen_by": "config"}
        return cal
    times = np.unique(time_key)
    cut = times[len(times) // 2] if len(times) > 1 else None
    early = time_key < cut if cut is not None else np.ones(len(y), bool)
    late = ~early if cut is not None else early
    losses = {}
    if y[early].sum() > 0 and y[late].sum() > 0:
        for m in ("platt", "isotonic"):
            losses[m] = log_loss(y[late], apply(fit(m, margin[early], y[early]), margin[late]))
        best = min(losses, key=losses.get)
    else:
        best = "platt"  # too few positives to compare: the 2-parameter form is the safe choice
    cal = fit(best, margin, y)
    cal["selection"] = {"chosen_by": "later-period log loss", "log_loss": losses,
                        "split_at": str(cut) if cut is not None else None}
    return cal
