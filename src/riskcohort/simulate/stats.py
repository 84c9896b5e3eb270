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


def cluster_bootstrap(clusters, counts, stat, n_boot: int = 400, seed: int = 0,
                      chunk: int = 50) -> tuple[float, float]:
    """95% percentile interval of ``stat`` over person-clustered resamples of a panel.

    Why: the fact panel stacks quarterly as-of dates, so one person (and one serious-harm event)
    appears in several rows; intervals that treat rows as independent (Woolf, Katz,
    Hanley-McNeil) are too narrow. Here each person's rows are summed to ``counts`` columns
    (e.g. the four cells of a 2x2 table), persons are resampled with Poisson(1) weights and
    ``stat`` maps an (n_resamples x columns) array of summed counts to statistics.
    """
    import numpy as np
    import pandas as pd

    per = pd.DataFrame(counts).groupby(np.asarray(clusters)).sum().to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_boot, chunk):
        w = rng.poisson(1.0, (min(chunk, n_boot - start), len(per)))
        out.append(stat(w @ per))
    v = np.concatenate(out)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(v, [2.5, 97.5])
    return (float(lo), float(hi))
