"""Backtest metrics with bootstrap intervals and paired differences, as one pure function.

Why one function over arrays: the run folder, the tabular mode and the governance pack must report
the *same* numbers, so they all call :func:`evaluate` with plain arrays (no DataFrames, no models).

Why bootstrap *weights*: a resample of ``n`` people is represented by how many times each person is
drawn (a row of counts). Every metric is then a weighted metric over the one fixed ordering of each
score, so a chunk of resamples is a few matrix operations (``cumsum``/``reduceat``) instead of a
Python loop, and every score is evaluated on the *same* resamples - which is what makes the
model-minus-baseline intervals paired.

Ties: people with equal scores are never ordered arbitrarily. At a top-``k`` boundary a tied group
contributes the fraction of it that fits (the expectation under random tie-breaking), and AUC counts
a tied positive/negative pair as one half. An optional ``tiebreak`` array per score orders ties
first (used for the model: the calibrator can tie people the raw margin separates).

Missing scores (NaN) rank last (an unscored person is never in a cohort).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from scipy import sparse

CALIBRATION_BINS = 10  # ECE: equal-frequency bins on the full sample (fixed across resamples)
FIT_BINS = 2000  # calibration slope/intercept: logistic fit on this many bins of logit(p)
_CELLS_PER_CHUNK = 4_000_000  # resamples x people per chunk: bounds memory (~32 MB per array)


def _order_and_groups(score: np.ndarray, tiebreak: np.ndarray | None) -> np.ndarray:
    """Tie-group id of each person, 0 = highest score (then ``tiebreak``); NaN ranks last."""
    s = np.where(np.isnan(score), -np.inf, score)
    if tiebreak is None:
        order = np.argsort(-s, kind="stable")
        change = s[order][1:] != s[order][:-1]
    else:
        t = np.where(np.isnan(tiebreak), -np.inf, tiebreak)
        order = np.lexsort((-t, -s))
        change = (s[order][1:] != s[order][:-1]) | (t[order][1:] != t[order][:-1])
    group = np.empty(len(s), dtype=np.int64)
    group[order] = np.concatenate(([0], np.cumsum(change)))
    return group


def _indicator(group: np.ndarray, columns: list[np.ndarray]) -> sparse.csr_matrix:
    """Sparse (n, len(columns) * n_groups) matrix: weight @ it sums each column within groups."""
    n, g = len(group), int(group.max()) + 1 if len(group) else 0
    rows = np.tile(np.arange(n), len(columns))
    cols = np.concatenate([group + i * g for i in range(len(columns))])
    return sparse.csr_matrix((np.concatenate(columns), (rows, cols)), shape=(n, g * len(columns)))


def _ranking(w, sums, ks):
    """Weighted ROC AUC, average precision and top-k metrics from per-group sums."""
    tot, pos, harm_g, hom_g = np.split(np.asarray(w @ sums), 4, axis=1)
    neg = tot - pos
    n_pos, n_neg = pos.sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # AUC: each positive beats the negatives strictly below it and half of the tied ones.
        neg_below = n_neg[:, None] - np.cumsum(neg, axis=1)
        auc = (pos * (neg_below + 0.5 * neg)).sum(1) / (n_pos * n_neg)
        cum_pos, cum_tot = np.cumsum(pos, axis=1), np.cumsum(tot, axis=1)
        prec = np.where(cum_tot > 0, cum_pos / cum_tot, 0.0)
        out = {"roc_auc": auc, "pr_auc": (pos * prec).sum(1) / n_pos}
        total_harm = harm_g.sum(1)
        before = cum_tot - tot
        for k in ks:
            frac = np.clip((k - before) / np.where(tot > 0, tot, 1.0), 0.0, 1.0)
            tp = (frac * pos).sum(1)
            out[f"precision@{k}"] = tp / np.minimum(k, cum_tot[:, -1])
            out[f"recall@{k}"] = tp / n_pos
            out[f"harm@{k}"] = (frac * harm_g).sum(1) / total_harm
            out[f"homicides@{k}"] = (frac * hom_g).sum(1)
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _newton(wt, ys, x, start, steps):
    """Batched logistic fits on binned data: slope/intercept of y ~ logit(p), and the intercept
    with logit(p) as offset (calibration-in-the-large). ``wt``/``ys``: (B, bins) weights and
    positives; ``x``: (bins,) logit(p) of each bin."""
    a, b, c = (np.full(len(wt), v, dtype=float) for v in start)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(steps):
            mu = 1 / (1 + np.exp(-(a[:, None] + b[:, None] * x)))
            r, v = ys - wt * mu, wt * mu * (1 - mu)
            g0, g1 = r.sum(1), r @ x
            h00, h01, h11 = v.sum(1), v @ x, v @ (x * x)
            det = h00 * h11 - h01**2
            a, b = a + (h11 * g0 - h01 * g1) / det, b + (h00 * g1 - h01 * g0) / det
            mu = 1 / (1 + np.exp(-(c[:, None] + x)))
            c = c + (ys - wt * mu).sum(1) / (wt * mu * (1 - mu)).sum(1)
    return a, b, c


def _calibration(w, y, cal, start, steps, exact=False):
    """Weighted Brier, ECE (equal-frequency bins), calibration slope and intercept."""
    wsum = w.sum(1)
    out = {"brier": (w @ cal["sq_err"]) / wsum}
    tot, wp, wy = np.split(np.asarray(w @ cal["ece"]), 3, axis=1)
    out["ece"] = np.abs(wp - wy).sum(1) / wsum
    if exact:  # the point estimate: one "bin" per person, i.e. the plain logistic fit
        a, b, c = _newton(w, w * y, cal["x_exact"], start, steps)
    else:
        wt, ys = np.split(np.asarray(w @ cal["fit"]), 2, axis=1)
        a, b, c = _newton(wt, ys, cal["x"], start, steps)
    out["calibration_slope"], out["calibration_intercept"], out["_a"] = b, c, a
    return out


def _equal_frequency(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-frequency bin of each value; equal values always share a bin."""
    uniq, inv = np.unique(values, return_inverse=True)
    if len(uniq) <= n_bins:
        return inv
    cum = np.cumsum(np.bincount(inv)) - 1  # rank of the last member of each distinct value
    bins = ((cum * n_bins) // len(values))[inv]
    return np.unique(bins, return_inverse=True)[1].reshape(-1)  # no empty bins


def _prepare_calibration(y: np.ndarray, p: np.ndarray) -> dict:
    """Fixed per-person matrices for calibration metrics (bins fixed on the full sample)."""
    ece_bin = _equal_frequency(p, CALIBRATION_BINS)
    x = _logit(p)
    # Resamples fit on up to FIT_BINS bins of logit(p) (exact when p has fewer distinct values),
    # so a resample's fit costs O(bins), not O(people); the point estimate is fitted exactly.
    fit_bin = _equal_frequency(x, FIT_BINS)
    xb = np.bincount(fit_bin, weights=x) / np.bincount(fit_bin)
    return {
        "sq_err": (p - y) ** 2,
        "ece": _indicator(ece_bin, [np.ones_like(p), p, y]),
        "fit": _indicator(fit_bin, [np.ones_like(p), y]),
        "x": xb,
        "x_exact": x,
    }


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return (float(lo), float(hi))


def _weights(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """Counts of each person in ``b`` resamples with replacement (one row per resample)."""
    idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)


def _all_metrics(w, y, prepared, ks, point=None):
    """Every metric of every score for the resamples in ``w``.

    Resamples warm-start the calibration fits at the full-sample estimate (``point``): Newton's
    method then converges in a few steps.
    """
    res = {}
    for name, (sums, cal) in prepared.items():
        m = _ranking(w, sums, ks)
        if cal is not None:
            if point is None:
                m.update(_calibration(w, y, cal, (0.0, 1.0, 0.0), 30, exact=True))
            else:
                pt = point[name]
                start = tuple(
                    float(np.nan_to_num(pt[k][0], nan=d))
                    for k, d in (("_a", 0.0), ("calibration_slope", 1.0),
                                 ("calibration_intercept", 0.0))
                )
                m.update(_calibration(w, y, cal, start, 5))
        res[name] = m
    return res


def _prepare_scores(y, harm, hom, scores, tiebreak, probabilities) -> dict:
    """Per score: the tie-group indicator sums and (for probabilities only) the calibration
    matrices. Built once, because every resample reuses the same ordering of each score."""
    n = len(y)
    prepared = {}
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        if len(s) != n:
            raise ValueError(f"score {name!r} has {len(s)} values for {n} people")
        group = _order_and_groups(s, tiebreak.get(name))
        sums = _indicator(group, [np.ones(n), y, harm, hom])
        cal = None
        if name in probabilities:
            cal = _prepare_calibration(y, np.clip(np.nan_to_num(s, nan=0.0), 0, 1))
        prepared[name] = (sums, cal)
    return prepared


def _bootstrap(y, prepared, ks, point, n_boot: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Every metric on ``n_boot`` resamples, drawn in chunks so the (resamples x people) weight
    matrix stays within ``_CELLS_PER_CHUNK`` cells whatever the population size."""
    n = len(y)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CELLS_PER_CHUNK // max(n, 1)))
    boot: dict[str, dict[str, list]] = {name: {} for name in prepared}
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        res = _all_metrics(_weights(rng, n, b), y, prepared, ks, point)
        for name, m in res.items():
            for key, val in m.items():
                boot[name].setdefault(key, []).append(val)
        done += b
    boot_arr = {nm: {k: np.concatenate(v) for k, v in m.items()} for nm, m in boot.items()}
    for nm in prepared:  # n_boot == 0: point estimates only
        for key in point[nm]:
            boot_arr[nm].setdefault(key, np.zeros(0))
    return boot_arr


def _summaries(point, boot_arr, reference: str, n_boot: int) -> tuple[dict, dict]:
    """Value and percentile interval of every metric, and of ``reference`` minus every other
    score on the same resamples (paired, so the shared noise of the population cancels)."""

    def summary(pt, bs):
        lo, hi = _interval(bs) if n_boot else (float("nan"), float("nan"))
        return {"value": float(pt[0]), "lo": lo, "hi": hi}

    for m in (*point.values(), *boot_arr.values()):
        m.pop("_a", None)
    out_scores = {nm: {k: summary(point[nm][k], boot_arr[nm][k]) for k in point[nm]}
                  for nm in point}
    diffs = {}
    if reference in point:
        ref_pt, ref_bs = point[reference], boot_arr[reference]
        for nm in point:
            if nm == reference:
                continue
            common = [k for k in ref_pt if k in point[nm]]
            diffs[nm] = {
                k: summary(ref_pt[k] - point[nm][k], ref_bs[k] - boot_arr[nm][k]) for k in common
            }
    return out_scores, diffs


def _cautions(y: np.ndarray, hom: np.ndarray) -> list[str]:
    """Plain-English warnings shown beside the figures when the outcome counts are too few for
    the intervals to carry evidence (a reader should not over-read a small backtest)."""
    n_hom = int(hom.sum())
    cautions = []
    if n_hom < 20:
        cautions.append(
            f"only {n_hom} homicides in the outcome window: homicide counts are anecdotal, "
            "their intervals are wide and no difference in them should be read as evidence"
        )
    if y.sum() < 30:
        cautions.append(f"only {int(y.sum())} positives: all intervals are wide")
    return cautions


def evaluate(
    y,
    harm,
    homicide,
    scores: Mapping[str, np.ndarray],
    ks: Iterable[int] = (50, 100, 200),
    n_boot: int = 1000,
    seed: int = 0,
    reference: str = "model",
    probabilities: Iterable[str] = ("model", "oracle"),
    tiebreak: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Metrics of every score on one population, with bootstrap 95% intervals.

    ``scores`` maps a name to one score per person (higher = riskier). Calibration metrics (Brier,
    ECE, slope, intercept) are computed only for names in ``probabilities`` (rule baselines are
    rankings, not probabilities). ``differences`` holds ``reference`` minus each other score on the
    same resamples (paired percentile intervals).

    >>> y = np.array([0, 0, 1, 1]); h = np.array([0, 0, 5.0, 1.0]); z = np.zeros(4)
    >>> r = evaluate(y, h, z, {"model": np.array([.1, .2, .8, .7]), "rule": np.array([4, 3, 2, 1])},
    ...              ks=(2,), n_boot=50)
    >>> r["scores"]["model"]["roc_auc"]["value"], r["scores"]["rule"]["recall@2"]["value"]
    (1.0, 0.0)
    """
    y = np.asarray(y, dtype=float)
    harm = np.nan_to_num(np.asarray(harm, dtype=float))
    hom = np.nan_to_num(np.asarray(homicide, dtype=float))
    ks = tuple(int(k) for k in ks)
    n = len(y)
    prepared = _prepare_scores(y, harm, hom, scores, dict(tiebreak or {}), set(probabilities))
    point = _all_metrics(np.ones((1, n)), y, prepared, ks)
    boot_arr = _bootstrap(y, prepared, ks, point, n_boot, seed)
    out_scores, diffs = _summaries(point, boot_arr, reference, n_boot)
    return {
        "n": n,
        "positives": int(y.sum()),
        "base_rate": float(y.mean()) if n else float("nan"),
        "homicides": int(hom.sum()),
        "total_harm": float(harm.sum()),
        "ks": list(ks),
        "n_boot": int(n_boot),
        "seed": int(seed),
        "reference": reference,
        "calibration_bins": CALIBRATION_BINS,
        "scores": out_scores,
        "differences": diffs,
        "cautions": _cautions(y, hom),
    }
