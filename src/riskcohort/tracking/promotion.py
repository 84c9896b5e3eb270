"""When a challenger replaces the champion: one pure rule, its evidence and its write-up.

The rule protects the teams relying on the cohort: a new model takes over only if it is not
worse at finding the people who go on to cause serious harm - the paired bootstrap interval of
(challenger - champion) recall@k does not lie entirely below 0 - and its probabilities can be
read at face value (ECE below a threshold, calibration slope within a range). Both models are
scored on the same backtest window and the same resamples, so the interval is paired.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

DEFAULT_ECE_MAX = 0.01  # same target the modelling summary checks
DEFAULT_SLOPE_RANGE = (0.8, 1.2)


@dataclass
class PromotionDecision:
    """The verdict and every number behind it (logged as tags, metrics and markdown)."""

    promote: bool
    reasons: list[str]
    k: int
    recall_diff: float = math.nan
    recall_diff_lo: float = math.nan
    recall_diff_hi: float = math.nan
    ece: float = math.nan
    slope: float = math.nan
    ece_max: float = DEFAULT_ECE_MAX
    slope_range: tuple[float, float] = DEFAULT_SLOPE_RANGE
    champion_version: int | None = None
    challenger_version: int | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def decide_promotion(recall_diff: tuple[float, float, float] | None, ece: float, slope: float,
                     *, k: int = 100, ece_max: float = DEFAULT_ECE_MAX,
                     slope_range: tuple[float, float] = DEFAULT_SLOPE_RANGE,
                     champion_exists: bool = True) -> PromotionDecision:
    """Decide whether the challenger becomes champion.

    ``recall_diff`` is (value, lo, hi) of challenger minus champion recall@k (paired bootstrap);
    ``ece`` and ``slope`` are the challenger's calibration on the backtest window.

    >>> decide_promotion((0.01, -0.03, 0.05), ece=0.005, slope=1.0).promote
    True
    >>> decide_promotion((-0.08, -0.12, -0.04), ece=0.005, slope=1.0).reasons[0]
    'recall@100 worse than the champion: difference -0.080 [-0.120, -0.040] lies below 0'
    """
    d, lo, hi = recall_diff if recall_diff is not None else (math.nan,) * 3
    out = PromotionDecision(False, [], k, d, lo, hi, ece, slope, ece_max, tuple(slope_range))
    calibration_ok = True
    if not (ece < ece_max):  # NaN fails too
        calibration_ok = False
        out.reasons.append(f"calibration: ECE {ece:.4f} is not below {ece_max}")
    if not (slope_range[0] <= slope <= slope_range[1]):
        calibration_ok = False
        out.reasons.append(f"calibration: slope {slope:.2f} outside "
                           f"{slope_range[0]}-{slope_range[1]}")
    if not champion_exists:
        out.promote = True  # the first model becomes champion (its calibration is recorded)
        out.reasons.insert(0, "no champion yet: the first model becomes champion")
        return out
    if math.isnan(hi):
        out.reasons.insert(0, f"recall@{k}: no paired interval (is this a backtest?)")
    elif hi < 0:
        out.reasons.insert(0, f"recall@{k} worse than the champion: difference {d:.3f} "
                              f"[{lo:.3f}, {hi:.3f}] lies below 0")
    else:
        out.reasons.insert(0, f"recall@{k} not worse than the champion: difference {d:.3f} "
                              f"[{lo:.3f}, {hi:.3f}]")
        out.promote = calibration_ok
    if calibration_ok:
        out.reasons.append(f"calibration passes: ECE {ece:.4f} < {ece_max}, slope {slope:.2f}")
    return out


def markdown(decision: PromotionDecision, dry_run: bool = False) -> str:
    """The short write-up logged with the challenger run (``promotion.md``)."""
    verdict = "PROMOTE to champion" if decision.promote else "KEEP the current champion"
    lo_s, hi_s = decision.slope_range
    lines = [
        f"# Promotion decision: {verdict}" + (" (dry run, nothing changed)" if dry_run else ""),
        "",
        f"- champion version: {decision.champion_version or 'none'}; "
        f"challenger version: {decision.challenger_version or 'not registered'}",
        f"- recall@{decision.k} challenger - champion: {decision.recall_diff:.3f} "
        f"(95% paired bootstrap interval {decision.recall_diff_lo:.3f} to "
        f"{decision.recall_diff_hi:.3f})",
        f"- challenger ECE {decision.ece:.4f} (must be < {decision.ece_max}); calibration slope "
        f"{decision.slope:.2f} (must be within {lo_s}-{hi_s})",
        "",
        "Reasons:",
        *[f"- {r}" for r in decision.reasons],
        "",
        "Rule: promote only if the paired interval of recall@k does not lie entirely below 0 "
        "and calibration passes. The cohort supports a human decision; it never makes one.",
    ]
    return "\n".join(lines) + "\n"
