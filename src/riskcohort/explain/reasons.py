"""Reason codes: the indicators that push one person's score up or down, in plain English.

Why percentage points, and why "about": SHAP contributions add up in log-odds (base + sum = the
model's raw margin), which officers cannot read. We express each contribution as the change in the
*calibrated* risk when that one contribution is removed and the others kept:
``p(margin) - p(margin - phi_i)``. Because the link is non-linear, these effects do not add up to
the person's distance from the population average, and each depends on the others; they are an
approximation for reading, the log-odds numbers are exact. Both are reported.

>>> from riskcohort.explain.calibration import sigmoid_calibration
>>> cal = sigmoid_calibration("doctest")
>>> round(float(effect_pp(0.0, 0.0, cal)), 6), round(float(effect_pp(0.0, 2.0, cal)), 1)
(0.0, 38.1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskcohort.explain.calibration import Calibration
from riskcohort.explain.labels import Label, format_value, render_reason

APPROX_NOTE = (
    "SHAP contributions are exact and additive in log-odds (base value + contributions = the "
    "model's raw margin). A percentage-point effect is the change in calibrated risk if that one "
    "contribution were removed with the others kept, p(margin) - p(margin - contribution): an "
    "approximation for reading, which does not add up across indicators."
)


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


def effect_pp(margin, contribution, calibration: Calibration) -> np.ndarray:
    """Percentage points of calibrated risk attributable to ``contribution`` (see module doc)."""
    m = np.asarray(margin, dtype=float)
    c = np.asarray(contribution, dtype=float)
    return 100.0 * (calibration.probability(m) - calibration.probability(m - c))


def effect_words(pp: float) -> str:
    """'raises/lowers the risk estimate by about X percentage points' (X to one decimal)."""
    verb = "raises" if pp >= 0 else "lowers"
    size = f"about {abs(pp):.1f}" if abs(pp) >= 0.05 else "less than 0.1"
    return f"{verb} the risk estimate by {size} percentage points"


def make_reason(label: Label, value, contribution: float, pp: float) -> Reason:
    """Build one :class:`Reason` with its sentence."""
    clean = None if value is None or np.isnan(value) else float(value)
    sentence = f"{render_reason(label, clean)} - {effect_words(pp)}"
    return Reason(
        indicator=label.name,
        description=label.description,
        value=clean,
        value_text=format_value(clean, label.unit),
        contribution_logodds=float(contribution),
        effect_pp=float(pp),
        text=sentence,
    )


def reason_codes(
    values: np.ndarray,
    contributions: np.ndarray,
    margin: float,
    calibration: Calibration,
    labels: list[Label],
    n_up: int = 5,
    n_down: int = 3,
) -> tuple[list[Reason], list[Reason]]:
    """Top ``n_up`` positive and ``n_down`` negative contributions for one person, largest first."""
    contributions = np.asarray(contributions, dtype=float)
    pps = effect_pp(np.full(contributions.shape, margin), contributions, calibration)
    order = np.argsort(-np.abs(contributions), kind="stable")
    up = [i for i in order if contributions[i] > 0][:n_up]
    down = [i for i in order if contributions[i] < 0][:n_down]

    def build(idx):
        return [make_reason(labels[i], values[i], contributions[i], pps[i]) for i in idx]

    return build(up), build(down)
