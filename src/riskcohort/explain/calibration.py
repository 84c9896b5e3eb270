"""Map the booster's raw margin (log-odds) to the calibrated probability the run reports.

Why: SHAP is additive in log-odds, but officers see the *calibrated* probability in
``scores.csv``. To express a contribution in percentage points, or to recompute a what-if score,
explain needs the same margin -> probability map the modelling stage used. The modelling stage
owns the calibrator (``model/calibrator.json``) and its one definition (``modelling.calibration``);
this module applies exactly that map. There is no fallback: without a usable calibrator the
explanation stops with a clear error. ``sigmoid_calibration`` exists for tests and doctests only.

>>> cal = sigmoid_calibration("test")
>>> [round(float(x), 3) for x in cal.probability([0.0, 2.0])]
[0.5, 0.881]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
    """Raw sigmoid of the margin (tests and doctests; never used for a run's explanation)."""
    note = f"no calibrator used ({reason}); raw sigmoid of the margin"
    return Calibration("sigmoid", note, sigmoid)


def load_calibration(model_dir: str | Path) -> Calibration:
    """The run's calibrator (``model/calibrator.json``), read by the modelling stage's own code.

    A missing or unusable calibrator is a :class:`~riskcohort.errors.UserError`: an officer must
    never be shown an uncalibrated number beside a calibrated score.
    """
    from riskcohort.modelling.calibration import apply
    from riskcohort.modelling.model import load_calibrator

    spec = load_calibrator(Path(model_dir))
    method = str(spec.get("method"))
    return Calibration(method, f"{method} calibrator of the run's model (model/calibrator.json)",
                       lambda m: apply(spec, m))
