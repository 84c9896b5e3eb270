"""The comparison at the team's cut-off: who is compared, the adjusted relative risk, its interval.

Why at the cut-off: a top-K team picks the people at the top of a ranking, so the managed and
the unmanaged differ in risk by construction; only people *near the cut* are comparable. Each
month the people not under management are ranked by the selection score (``selection``); the
month's ``n`` new starts sit above the cut (rank <= n when the score is the team's). The region
compared is the top ``(1 + bandwidth) * n`` ranks: every pick in it against every unpicked
person in it, i.e. as many ranks below the cut as the month has picks above it at the default
``bandwidth = 1`` (a symmetric window in rank; the picked side cannot be narrowed without
leaving managed people out). This is a regression discontinuity design in its local form.

Why a prognostic adjustment: inside the region risk still falls with rank (the managed are the
top of it), so a plain comparison is biased towards harm. Each person's expected harm without
management, ``mu``, comes from a model fitted on the people not picked that month (out-of-fold
by person); the relative risk is the managed people's observed/expected ratio over
the comparison's (indirect standardisation): the model's level cancels, only its ranking of
people inside the region matters. A local-linear regression discontinuity on rank (no model)
is reported beside it as a check, with its wider interval.
"""

from __future__ import annotations

import numpy as np

N_BOOT = 500
FLOOR = 1e-4  #: expected risk floor (a zero expectation would make a person weigh infinitely)


def region(rank: np.ndarray, n_picks: np.ndarray, bandwidth: float) -> np.ndarray:
    """Rows in the cut-off region: rank <= (1 + bandwidth) x the month's picks."""
    return rank <= (1.0 + bandwidth) * n_picks + 0.5


def oe_ratio(y: np.ndarray, mu: np.ndarray, treated: np.ndarray, w: np.ndarray) -> float:
    """(observed / expected among the treated) / (observed / expected among the comparison)."""
    t, c = treated, ~treated
    et, ec = np.sum(w[t] * mu[t]), np.sum(w[c] * mu[c])
    oc = np.sum(w[c] * y[c])
    if et <= 0 or ec <= 0 or oc <= 0:
        return float("nan")
    return float((np.sum(w[t] * y[t]) / et) / (oc / ec))


def local_linear(y: np.ndarray, r: np.ndarray, w: np.ndarray) -> float:
    """Risk just above the cut over risk just below it: a local-linear fit on each side of the
    centred rank ``r`` (> 0 above the cut), triangular kernel over the region's width."""
    h = float(np.max(np.abs(r))) if len(r) else 0.0
    if h <= 0:
        return float("nan")
    k = w * np.maximum(1.0 - np.abs(r) / h, 0.0)
    at_cut = []
    for side in (r > 0, r <= 0):
        if k[side].sum() <= 0:
            return float("nan")
        x = np.column_stack([np.ones(side.sum()), r[side]])
        sw = np.sqrt(k[side])
        beta = np.linalg.lstsq(x * sw[:, None], y[side] * sw, rcond=None)[0]
        at_cut.append(beta[0])
    return float(at_cut[0] / at_cut[1]) if at_cut[1] > 0 and at_cut[0] > 0 else float("nan")


def bootstrap(stat, people: np.ndarray, n_boot: int = N_BOOT, seed: int = 0
              ) -> tuple[float, float, int]:
    """95% percentile interval of ``stat(weights)`` under a bootstrap clustered by person: each
    person's rows share one Poisson(1) multiplicity (a person can be in several months)."""
    uniq, inv = np.unique(people.astype(str), return_inverse=True)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        v = stat(rng.poisson(1.0, len(uniq)).astype(float)[inv])
        if np.isfinite(v) and v >= 0:  # 0 (no managed event in a replicate) is a valid ratio
            vals.append(v)
    if len(vals) < max(20, n_boot // 5):
        return float("nan"), float("nan"), len(vals)
    lo, hi = np.percentile(vals, [2.5, 97.5])  # percentiles do not depend on the scale
    return float(lo), float(hi), len(vals)


def exact_interval(y: np.ndarray, mu: np.ndarray, treated: np.ndarray) -> tuple[float, float]:
    """95% interval of the observed/expected ratio conditional on the total number of events
    (two Poisson counts: managed events | all events ~ Binomial; Clopper-Pearson). Exact for
    few events, where a bootstrap degenerates (no managed event in any replicate gives 0-0)."""
    from scipy.stats import beta

    ot, oc = float(y[treated].sum()), float(y[~treated].sum())
    et, ec = float(mu[treated].sum()), float(mu[~treated].sum())
    n = ot + oc
    if n == 0 or et <= 0 or ec <= 0:
        return 0.0, float("inf")
    plo = beta.ppf(0.025, ot, oc + 1) if ot > 0 else 0.0
    phi = beta.ppf(0.975, ot + 1, oc) if oc > 0 else 1.0
    scale = ec / et
    lo = plo / (1 - plo) * scale
    hi = phi / (1 - phi) * scale if phi < 1 else float("inf")
    return float(lo), float(hi)
