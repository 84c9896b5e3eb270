"""Drift between iterations: the population stability index (PSI).

Why: a model is only as good as the resemblance between the people it is scoring now and the
people it was built on. PSI is the measure credit-risk and policing analysts already use:
``sum((a - e) * ln(a / e))`` over bins, where ``e`` and ``a`` are the previous and current shares.
Bins are the previous iteration's quantiles (so each holds about 1/bins of the previous people);
missing values get their own bin (an absent source shows up as drift, not silently). Rule of
thumb: < 0.1 stable, 0.1-0.25 some shift, > 0.25 major shift.

>>> round(psi_from_shares([0.5, 0.5], [0.25, 0.75]), 4)
0.2747
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPS = 1e-4  # share floor: an empty bin would make the log infinite


def psi_from_shares(expected, actual, eps: float = EPS) -> float:
    """PSI of two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, float), eps, None)
    a = np.clip(np.asarray(actual, float), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def shares(previous: pd.Series, current: pd.Series, bins: int = 10) -> tuple[list, list]:
    """Bin both series on the previous series' quantile edges; NaN is one more bin."""
    prev, cur = previous.astype(float), current.astype(float)
    known = prev.dropna()
    edges: Any = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))) if len(known) else []
    if len(edges) > 2:
        cuts = np.concatenate([[-np.inf], edges[1:-1], [np.inf]])
    else:  # constant or empty: one bin per distinct side of the value
        v = edges[0] if len(edges) else 0.0
        cuts = np.array([-np.inf, v - 1e-12, v + 1e-12, np.inf])

    def dist(s: pd.Series) -> list:
        n = max(len(s), 1)
        counts = pd.cut(s.dropna(), cuts).value_counts(sort=False).to_numpy()
        return [*(counts / n), s.isna().sum() / n]

    return dist(prev), dist(cur)


def psi(previous: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """PSI of ``current`` against ``previous`` (bins from ``previous``'s quantiles)."""
    e, a = shares(previous, current, bins)
    return psi_from_shares(e, a)


def label(value: float) -> str:
    """The usual reading of a PSI value."""
    if not np.isfinite(value):
        return "n/a"
    return "stable" if value < 0.1 else "some shift" if value < 0.25 else "major shift"


def psi_table(previous: pd.DataFrame, current: pd.DataFrame, columns, bins: int = 10):
    """PSI per column present in both frames, largest first."""
    rows = [{"indicator": c, "psi": psi(previous[c], current[c], bins)}
            for c in columns if c in previous and c in current]
    out = pd.DataFrame(rows, columns=["indicator", "psi"])
    out["reading"] = out["psi"].map(label)
    return out.sort_values("psi", ascending=False, ignore_index=True)
