"""Map the booster's raw margin (log-odds) to the calibrated probability the run reports.

Why: SHAP is additive in log-odds, but officers see the *calibrated* probability in
``scores.csv``. To express a contribution in percentage points, or to recompute a what-if score,
explain needs the same margin -> probability map the modelling stage used. The modelling stage
owns the calibrator (``model/calibrator.json``); this module asks ``CohortModel`` for it and only
falls back to reading simple JSON forms, then to the plain logistic sigmoid (with a note saying
so), so explanations still work on a run folder from an older or partial pipeline.

>>> cal = sigmoid_calibration("test")
>>> [round(float(x), 3) for x in cal.probability([0.0, 2.0])]
[0.5, 0.881]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MARGIN_METHODS = ("calibrate", "calibrate_margin", "proba_from_margin", "probability_from_margin")


@dataclass(frozen=True)
class Calibration:
    """A margin -> probability map with a human note on where it came from."""

    kind: str
    note: str
    fn: Callable[[np.ndarray], np.ndarray]

    def probability(self, margin) -> np.ndarray:
        """Calibrated probability for each raw margin (same shape as ``margin``)."""
        shape = np.shape(margin)
        m = np.atleast_1d(np.asarray(margin, dtype=float)).ravel()
        return np.clip(np.asarray(self.fn(m), dtype=float).reshape(shape), 0.0, 1.0)


def sigmoid(margin: np.ndarray) -> np.ndarray:
    """Logistic function, the booster's own (uncalibrated) link."""
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))


def sigmoid_calibration(reason: str) -> Calibration:
    """The fallback: raw sigmoid of the margin, noting why no calibrator was used."""
    note = f"no calibrator used ({reason}); raw sigmoid of the margin"
    return Calibration("sigmoid", note, sigmoid)


def _cohort_model_class():
    try:
        from riskcohort.modelling import CohortModel  # type: ignore[attr-defined]
    except ImportError:
        try:
            from riskcohort.modelling.model import CohortModel
        except ImportError:
            return None
    return CohortModel


def _from_cohort_model(model_dir: Path) -> Calibration | None:
    """Use ``riskcohort.modelling.CohortModel`` (the object that produced the scores)."""
    cls = _cohort_model_class()
    if cls is None:
        return None
    model = cls.load(model_dir)
    for name in _MARGIN_METHODS:
        if callable(getattr(model, name, None)):
            return Calibration("cohort_model", f"CohortModel.{name}", getattr(model, name))
    cal = getattr(model, "calibrator", None)
    if cal is None:  # CohortModel.predict_risk uses the sigmoid itself: scores are consistent
        return sigmoid_calibration("the run's CohortModel has no calibrator")
    if isinstance(cal, dict):
        from riskcohort.modelling.calibration import apply

        method = str(cal.get("method"))
        return Calibration(method, f"{method} calibrator of the run's CohortModel",
                           lambda m: apply(cal, m))
    for name in ("predict", "transform", "__call__"):
        if callable(getattr(cal, name, None)):
            return Calibration("cohort_model", f"CohortModel.calibrator.{name}", getattr(cal, name))
    return None


def _from_json(path: Path) -> Calibration | None:
    """Read ``calibrator.json`` (Platt ``a, b`` or isotonic ``x, y``) as modelling writes it."""
    if not path.exists():
        return None
    spec = json.loads(path.read_text(encoding="utf-8"))
    method = str(spec.get("method", spec.get("kind", ""))).lower()
    try:  # the modelling stage's own apply() is the one definition of its JSON forms
        from riskcohort.modelling.calibration import apply
    except ImportError:
        apply = None
    if apply is not None and method in ("platt", "isotonic"):
        return Calibration(method, f"{method} calibrator from {path.name} (modelling.calibration)",
                           lambda m: apply(spec, m))
    if method in ("platt", "sigmoid", "logistic"):
        a = float(spec.get("a", spec.get("coef", 1.0)))
        b = float(spec.get("b", spec.get("intercept", 0.0)))
        return Calibration("platt", f"Platt scaling from {path.name}", lambda m: sigmoid(a * m + b))
    if method == "isotonic":
        x = np.asarray(spec.get("x", spec.get("x_thresholds")), dtype=float)
        y = np.asarray(spec.get("y", spec.get("y_thresholds")), dtype=float)
        note = f"isotonic map from {path.name}"
        return Calibration("isotonic", note, lambda m: np.interp(m, x, y))
    return None


def load_calibration(model_dir: str | Path) -> Calibration:
    """The run's calibrator, or the sigmoid with a note when none can be used."""
    model_dir = Path(model_dir)
    try:
        found = _from_cohort_model(model_dir)
    except Exception as exc:  # noqa: BLE001 - a broken calibrator must not stop explanations
        found = None
        reason = f"CohortModel.load failed: {exc}"
    else:
        reason = "no CohortModel calibrator available"
    if found is None:
        try:
            found = _from_json(model_dir / "calibrator.json")
        except (ValueError, TypeError, KeyError) as exc:
            reason = f"calibrator.json unreadable: {exc}"
    return found or sigmoid_calibration(reason)
