"""Reason codes: the indicators that push one person's score up or down, in plain English.

Why percentage points on the calibrated scale, attributed exactly: SHAP contributions add up in
log-odds (base + sum = the model's raw margin), which officers cannot read, while the score they
see is the *calibrated* probability. Each contribution ``phi_i`` is scaled by the calibrator's
secant slope between the base margin ``b`` and the person's margin ``m``:

    effect_i = 100 * phi_i * (p(m) - p(b)) / (m - b)

so the effects add up exactly to ``score - base probability`` (in points), every effect has the
sign of its log-odds contribution (the calibrator is strictly increasing, so the slope is
positive) and the waterfall from the base probability ends at the score on the card. This is a
linear share-out of the change in probability, not "what if this one indicator were removed":
each share depends on the others through the slope. The log-odds numbers are kept beside them.

>>> from riskcohort.explain.calibration import sigmoid_calibration
>>> cal = sigmoid_calibration("doctest")
>>> e = attribute_pp(cal, -2.0, [1.0, -0.5])
>>> round(float(e.sum()), 6) == round(100 * float(cal.probability(-1.5) - cal.probability(-2.0)), 6)
True
>>> effect_words(2.345)
'raises the risk estimate by about 2.3 percentage points'
>>> effect_words(-0.04)
'lowers the risk estimate by about 0.04 percentage points'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskcohort.explain.calibration import Calibration
from riskcohort.explain.labels import Label, format_value, readable_name, render_reason

APPROX_NOTE = (
    "Each reason's effect is its share of the difference between this person's risk estimate "
    "and the base estimate (the model's starting point before any indicator), in percentage "
    "points on the calibrated scale: the SHAP log-odds contributions are scaled by one factor, "
    "so the effects add up exactly to the risk estimate. A share is not what would happen if "
    "that one indicator changed (see the what-if table)."
)
_STEP = 1e-4  # log-odds step for the calibrator's local slope when m == b


@dataclass
class Reason:
    """One reason code: an indicator, its value and its effect on this person's score."""

    indicator: str
    description: str
    value: float | None
    value_text: str
    contribution_logodds: float
    effect_pp: float
    text: str
    direction: str = ""  # "raises" / "lowers" (the sign of the contribution)


def secant_slope(calibration: Calibration, base: float, margin: float,
                 score: float | None = None) -> float:
    """Probability per log-odds unit between the base margin and the person's margin.

    ``score`` (the stored calibrated score) replaces ``p(margin)`` so the attribution ends at
    exactly the number in ``scores.csv``. Equal margins use the calibrator's local slope.
    """
    pb = float(calibration.probability(base))
    pm = float(calibration.probability(margin)) if score is None else float(score)
    if abs(margin - base) > 1e-9:
        return (pm - pb) / (margin - base)
    hi, lo = calibration.probability([base + _STEP, base - _STEP])
    return float(hi - lo) / (2 * _STEP)


def attribute_pp(calibration: Calibration, base: float, contributions,
                 score: float | None = None) -> np.ndarray:
    """Each contribution's exact share of ``score - p(base)``, in percentage points."""
    c = np.asarray(contributions, dtype=float)
    slope = secant_slope(calibration, float(base), float(base) + float(c.sum()), score)
    return 100.0 * slope * c


def share_pp(base_probability: float, score: float, contributions) -> np.ndarray:
    """The same shares when only the two ends are known (the app, without the model): each
    contribution times ``(score - base_probability) / sum(contributions)``, in points. When the
    contributions cancel out, the logistic slope at the base stands in (the shares are ~0).

    >>> [round(float(v), 6) for v in share_pp(0.02, 0.05, [1.0, 0.5, -0.5])]
    [3.0, 1.5, -1.5]
    """
    c = np.asarray(contributions, dtype=float)
    total = float(c.sum())
    if abs(total) > 1e-9:
        slope = (float(score) - float(base_probability)) / total
    else:
        slope = float(base_probability) * (1.0 - float(base_probability))
    return 100.0 * slope * c


def effect_pp(margin, contribution, calibration: Calibration) -> np.ndarray:
    """Removal effect ``p(margin) - p(margin - contribution)`` in points (kept for callers that
    want a local, non-additive effect; reasons use :func:`attribute_pp`)."""
    m = np.asarray(margin, dtype=float)
    c = np.asarray(contribution, dtype=float)
    return 100.0 * (calibration.probability(m) - calibration.probability(m - c))


def points(pp: float, signed: bool = True) -> str:
    """Percentage points with enough digits to compare small effects (scores of a few tenths of
    a percent have effects of thousandths of a point): '+2.3', '-0.04', '+0.003', '<0.001'.

    >>> points(2.345), points(-0.0412), points(0.0031), points(-0.0004), points(0.0)
    ('+2.3', '-0.04', '+0.003', '<0.001', '0')
    """
    a = abs(pp)
    if a == 0:
        return "0"
    if a < 0.00095:
        return "<0.001"
    digits = 1 if a >= 0.095 else 2 if a >= 0.0095 else 3
    return f"{pp:+.{digits}f}" if signed else f"{a:.{digits}f}"


def effect_words(pp: float) -> str:
    """'raises/lowers the risk estimate by about X percentage points' (verb follows the sign)."""
    if pp == 0:
        return "does not change the risk estimate"
    verb = "raises" if pp > 0 else "lowers"
    size = points(pp, signed=False)
    size = "less than 0.001" if size.startswith("<") else f"about {size}"
    return f"{verb} the risk estimate by {size} percentage points"


def make_reason(label: Label, value, contribution: float, pp: float) -> Reason:
    """Build one :class:`Reason` with its sentence (the direction word follows the sign)."""
    clean = None if value is None or np.isnan(value) else float(value)
    sentence = f"{render_reason(label, clean)} - {effect_words(pp)}"
    return Reason(
        indicator=label.name,
        description=readable_name(label),
        value=clean,
        value_text=format_value(clean, label.unit),
        contribution_logodds=float(contribution),
        effect_pp=float(pp),
        text=sentence,
        direction="raises" if contribution > 0 else "lowers" if contribution < 0 else "none",
    )


def reason_codes(
    values: np.ndarray,
    contributions: np.ndarray,
    margin: float,
    calibration: Calibration,
    labels: list[Label],
    n_up: int = 5,
    n_down: int = 3,
    *,
    score: float | None = None,
) -> tuple[list[Reason], list[Reason]]:
    """Top ``n_up`` positive and ``n_down`` negative contributions for one person, largest first.

    Effects are :func:`attribute_pp` shares (base = ``margin - sum(contributions)``), ending at
    ``score`` when given (the stored score), else at ``p(margin)``.
    """
    contributions = np.asarray(contributions, dtype=float)
    base = float(margin) - float(contributions.sum())
    pps = attribute_pp(calibration, base, contributions, score)
    order = np.argsort(-np.abs(contributions), kind="stable")
    up = [i for i in order if contributions[i] > 0][:n_up]
    down = [i for i in order if contributions[i] < 0][:n_down]

    def build(idx):
        return [make_reason(labels[i], values[i], contributions[i], pps[i]) for i in idx]

    return build(up), build(down)
