"""Fairness audit: cohort metrics by protected group, with bootstrap intervals and ratios.

Why this shape: a police force must be able to show, for every group, how often its members are
put in the cohort and how the model's errors fall on them, with honest uncertainty, and must not
hide groups that are too small to judge. The point estimates come from fairlearn's ``MetricFrame``
(a widely reviewed implementation); intervals come from one bootstrap over people in which the
group value and the overall value are recomputed together, so the *ratio* to overall gets its own
interval. Pure functions over a DataFrame: the tabular mode reuses them on any scored table.

Metrics (``selected`` = in the cohort, ``y`` = serious harm in the horizon, ``score`` = predicted
probability): ``selection_rate`` P(selected), ``recall`` P(selected | y=1), ``false_positive_rate``
P(selected | y=0), ``precision`` P(y=1 | selected), ``observed`` P(y=1) (the base rate),
``predicted`` mean score, ``calibration`` observed / predicted (1 = calibrated within the group).

>>> import pandas as pd
>>> f = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
...                   "score": [.9, .2, .8, .1, .7, .3, .2, .1],
...                   "in_cohort": [1, 0, 1, 0, 1, 0, 0, 0],
...                   "serious_harm": [1, 0, 0, 0, 1, 0, 0, 0]})
>>> t = audit(f, "g", n_boot=20, min_members=1, min_positives=1)
>>> float(t.query("group == 'a' and metric == 'selection_rate'")["value"].iloc[0])
0.5
>>> float(t.query("group == 'b' and metric == 'selection_rate'")["ratio"].iloc[0])
0.6666666666666666
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

# Thresholds (documented in docs/governance.md and in the report).
MIN_MEMBERS = 50  # fewer members than this: too small to judge any metric
MIN_POSITIVES = 10  # fewer serious-harm outcomes than this: too small to judge outcome metrics
FLAG_LOW, FLAG_HIGH = 0.8, 1.25  # the four-fifths rule and its reciprocal
OVERALL = "(all)"

LABEL_METRICS = ("recall", "false_positive_rate", "precision", "observed", "calibration")
METRICS = ("selection_rate", "predicted", *LABEL_METRICS)
FLAGGED_METRICS = ("selection_rate", "recall", "false_positive_rate", "precision", "calibration")
UNKNOWN = "unknown"


def _sums(codes: np.ndarray, k: int, w: np.ndarray, sel, y, score) -> dict[str, np.ndarray]:
    """Weighted per-group sums (last slot = overall) from which every metric is a ratio."""

    def by(x):
        s = np.bincount(codes, weights=w * x, minlength=k)
        return np.append(s, s.sum())

    return {"m": by(np.ones_like(sel)), "s": by(sel), "p": by(y), "tp": by(sel * y),
            "score": by(score)}


def _metrics(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "selection_rate": t["s"] / t["m"],
            "predicted": t["score"] / t["m"],
            "recall": t["tp"] / t["p"],
            "false_positive_rate": (t["s"] - t["tp"]) / (t["m"] - t["p"]),
            "precision": t["tp"] / t["s"],
            "observed": t["p"] / t["m"],
            "calibration": t["p"] / t["score"],
        }


def _fairlearn_points(groups, sel, y, score) -> pd.DataFrame:
    """Point estimates by group (index) and overall (row ``OVERALL``) from fairlearn."""
    from fairlearn.metrics import MetricFrame, mean_prediction, selection_rate

    def recall(yt, yp):
        return yp[yt == 1].mean() if (yt == 1).any() else np.nan

    def fpr(yt, yp):
        return yp[yt == 0].mean() if (yt == 0).any() else np.nan

    def precision(yt, yp):
        return yt[yp == 1].mean() if (yp == 1).any() else np.nan

    on_selected = MetricFrame(
        metrics={"selection_rate": selection_rate, "recall": recall,
                 "false_positive_rate": fpr, "precision": precision,
                 "observed": lambda yt, yp: yt.mean()},
        y_true=y, y_pred=sel, sensitive_features=pd.Series(groups, name="group"))
    on_score = MetricFrame(metrics={"predicted": mean_prediction}, y_true=y, y_pred=score,
                           sensitive_features=pd.Series(groups, name="group"))
    by_group = pd.concat([on_selected.by_group, on_score.by_group], axis=1)
    overall = pd.concat([on_selected.overall, on_score.overall])
    by_group.loc[OVERALL] = overall
    by_group["calibration"] = by_group["observed"] / by_group["predicted"]
    return by_group.astype(float)


def _bootstrap(codes: np.ndarray, k: int, sel, y, score, n_boot: int,
               seed: int) -> dict[str, np.ndarray]:
    """Each metric per group (and overall, last column) on ``n_boot`` person resamples, drawn
    once for all metrics so ratios to overall are paired."""
    rng = np.random.default_rng(seed)
    n = len(codes)
    boot = {m: np.empty((n_boot, k + 1)) for m in METRICS}
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        for m, v in _metrics(_sums(codes, k, w, sel, y, score)).items():
            boot[m][b] = v
    return boot


def _percentiles(values: np.ndarray, k: int, level: float) -> tuple[np.ndarray, ...]:
    """Percentile intervals of each group's metric and of its ratio to overall (a group with
    no positives has no recall at all: its interval is NaN, not a warning)."""
    tail = (1 - level) / 2 * 100
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = values[:, :k] / values[:, [k]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(values, [tail, 100 - tail], axis=0)
        rlo, rhi = np.nanpercentile(np.where(np.isfinite(ratios), ratios, np.nan),
                                    [tail, 100 - tail], axis=0)
    return lo, hi, rlo, rhi


def audit(frame: pd.DataFrame, group_col: str, score_col: str = "score",
          selected_col: str = "in_cohort", label_col: str | None = "serious_harm",
          n_boot: int = 500, seed: int = 0, min_members: int = MIN_MEMBERS,
          min_positives: int = MIN_POSITIVES, level: float = 0.95) -> pd.DataFrame:
    """One row per (group, metric): value, interval, ratio to overall with interval, size, small.

    ``label_col`` may be None or absent (outcomes not yet known): outcome metrics are then NaN.
    Rows with a missing label are left out when labels are present. Missing group values are
    audited as ``unknown`` rather than dropped.
    """
    has_labels = label_col is not None and label_col in frame and frame[label_col].notna().any()
    if has_labels:  # people whose outcome is unknown cannot be in an outcome metric
        frame = frame[frame[label_col].notna()]
    groups = frame[group_col].astype("string").fillna(UNKNOWN).to_numpy(dtype=object)
    sel = frame[selected_col].astype(float).to_numpy()
    score = frame[score_col].astype(float).to_numpy()
    y = frame[label_col].astype(float).to_numpy() if has_labels else np.zeros(len(frame))
    names, codes = np.unique(groups, return_inverse=True)
    k = len(names)
    points = _fairlearn_points(groups, sel, y, score)
    boot = _bootstrap(codes, k, sel, y, score, n_boot, seed)
    counts = _sums(codes, k, np.ones(len(frame)), sel, y, score)
    rows = []
    for m in METRICS:
        lo, hi, rlo, rhi = _percentiles(boot[m], k, level)
        known = has_labels or m not in LABEL_METRICS
        overall = points.loc[OVERALL, m] if known else np.nan
        for i, g in enumerate([*names, OVERALL]):
            value = points.loc[g, m] if known else np.nan
            members, positives = int(counts["m"][i]), int(counts["p"][i])
            small = members < min_members or (
                m in LABEL_METRICS and has_labels and positives < min_positives)
            is_all = g == OVERALL
            rows.append({
                "attribute": group_col, "group": g, "metric": m, "value": value,
                "lo": np.nan if np.isnan(value) else lo[i],
                "hi": np.nan if np.isnan(value) else hi[i],
                "ratio": 1.0 if is_all else (value / overall if overall else np.nan),
                "ratio_lo": np.nan if is_all or np.isnan(value) else rlo[i],
                "ratio_hi": np.nan if is_all or np.isnan(value) else rhi[i],
                "members": members, "positives": positives if has_labels else None,
                "selected": int(counts["s"][i]), "small": bool(small and not is_all),
            })
    return pd.DataFrame(rows)


def flags(table: pd.DataFrame, low: float = FLAG_LOW, high: float = FLAG_HIGH) -> pd.DataFrame:
    """Rows of an :func:`audit` table whose ratio to overall falls outside [low, high].

    Only groups with enough data are flagged (small groups are marked, not judged), only for the
    metrics that describe how the cohort treats people (``observed`` and ``predicted`` are context).
    Missing values and the overall row are never flagged.
    """
    t = table[(table["group"] != OVERALL) & ~table["small"]
              & table["metric"].isin(FLAGGED_METRICS) & table["ratio"].notna()]
    out = t[(t["ratio"] < low) | (t["ratio"] > high)].copy()
    out["reason"] = [
        f"{r.metric} for {r.attribute}={r.group} is {r.ratio:.3f} x overall "
        f"(95% interval {r.ratio_lo:.2f}-{r.ratio_hi:.2f}; outside {low}-{high})"
        for r in out.itertuples()]
    return out.reset_index(drop=True)
