"""Small sampling-interval helpers for the fact check (95%, normal or exact approximations).

Why: on the small presets counts are tiny (a handful of homicides), so a fact is judged against
its sampling interval, not just its point estimate.

>>> lo, hi = wilson(5, 100)
>>> round(lo, 3), round(hi, 3)
(0.022, 0.112)
"""

from __future__ import annotations

import math

from scipy.stats import chi2


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (mid - half, mid + half)


def poisson_ci(k: int) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson count."""
    lo = 0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2
    return (lo, chi2.ppf(0.975, 2 * k + 2) / 2)


def ratio_ci(ratio: float, counts, kind: str = "or") -> tuple[float, float]:
    """Log-scale 95% interval: Woolf (odds/rate ratios, 1/count terms) or Katz (risk ratios).

    For ``kind="rr"`` counts are ``[a, n1, b, n0]`` (events and totals of the two groups).
    """
    if ratio <= 0 or not math.isfinite(ratio):
        return (0.0, float("inf"))
    if kind == "rr":
        a, n1, b, n0 = counts
        if a == 0 or b == 0:
            return (0.0, float("inf"))
        var = 1 / a - 1 / n1 + 1 / b - 1 / n0
    else:
        if min(counts) == 0:
            return (0.0, float("inf"))
        var = sum(1 / c for c in counts)
    se = math.sqrt(var)
    return (ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se))
