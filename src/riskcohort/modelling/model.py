"""``CohortModel``: a LightGBM booster plus a calibrator, with an sklearn-style surface.

Why this shape: the booster's raw margin (log-odds) is what SHAP explains additively, so the
explain stage needs ``booster`` and :meth:`raw_margin`; the team needs a calibrated probability
(:meth:`predict_proba`). Keeping both in one object (saved as ``model.txt``, ``calibrator.json``,
``feature_names.json``: text files, no pickle) guarantees the explanation and the score describe
the same model. Columns are selected by name, so a frame with extra or reordered columns scores
the same; an absent indicator (its source table is missing) is scored as NaN, which LightGBM
treats as "unknown", never as zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskcohort.io import write_json, write_text
from riskcohort.modelling import calibration as cal_mod

DETERMINISTIC = {"deterministic": True, "force_row_wise": True, "verbose": -1}


class CohortModel:
    """Booster + calibrator. ``fit`` trains with fixed rounds; selection happens in training.py.

    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> y = (X["a"] + rng.normal(size=400) > 1.5).astype(int)
    >>> m = CohortModel({"num_leaves": 4, "num_threads": 1}, num_boost_round=20).fit(X, y)
    >>> p = m.predict_proba(X)
    >>> p.shape, bool(np.all((p >= 0) & (p <= 1)))
    ((400, 2), True)
    """

    def __init__(self, params: dict | None = None, num_boost_round: int = 100,
                 calibrator: dict | None = None, seed: int = 0):
        self.params = dict(params or {})
        self.num_boost_round = int(num_boost_round)
        self.calibrator = calibrator
        self.seed = int(seed)
        self.booster: lgb.Booster | None = None
        self.feature_names: list[str] = []

    def lgb_params(self) -> dict:
        """Full LightGBM parameters: the given ones plus fixed seeds and determinism switches."""
        p = {"objective": "binary", "num_threads": 2, **self.params, **DETERMINISTIC}
        for key in ("seed", "bagging_seed", "feature_fraction_seed", "data_random_seed"):
            p[key] = self.seed
        return p

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> CohortModel:
        """Train the booster on ``X`` (columns = features) for ``num_boost_round`` rounds."""
        self.feature_names = [str(c) for c in X.columns]
        ds = lgb.Dataset(X.to_numpy(dtype=np.float64), label=np.asarray(y, dtype=float),
                         weight=sample_weight, feature_name=self.feature_names,
                         free_raw_data=True)
        self.booster = lgb.train(self.lgb_params(), ds, num_boost_round=self.num_boost_round)
        return self

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return X.reindex(columns=self.feature_names).to_numpy(dtype=np.float64)

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """LightGBM raw score (log-odds before calibration), one per row."""
        return self.booster.predict(self._matrix(X), raw_score=True,
                                    num_threads=self.params.get("num_threads", 2))

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the outcome, one per row."""
        margin = self.raw_margin(X)
        if self.calibrator is None:
            return 1.0 / (1.0 + np.exp(-margin))
        return cal_mod.apply(self.calibrator, margin)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """sklearn convention: column 1 = calibrated probability of the outcome."""
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])

    def save(self, directory) -> Path:
        """Write ``model.txt``, ``calibrator.json`` and ``feature_names.json`` atomically."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        write_text(d / "model.txt", self.booster.model_to_string())
        write_json(d / "calibrator.json", self.calibrator or {"method": "none"})
        write_json(d / "feature_names.json", self.feature_names)
        return d

    @classmethod
    def load(cls, directory) -> CohortModel:
        """Read a model written by :meth:`save`."""
        d = Path(directory)
        booster = lgb.Booster(model_str=(d / "model.txt").read_text(encoding="utf-8"))
        calibrator = json.loads((d / "calibrator.json").read_text(encoding="utf-8"))
        m = cls(num_boost_round=booster.current_iteration(),
                calibrator=None if calibrator.get("method") == "none" else calibrator)
        m.booster = booster
        m.feature_names = json.loads((d / "feature_names.json").read_text(encoding="utf-8"))
        return m
