"""``CohortModel``: a scikit-learn estimator that selects, fits and calibrates a LightGBM booster.

Why one estimator: the cohort is only as trustworthy as the chain "choose hyperparameters on
later data -> fit -> calibrate on out-of-time margins". Held in one ``fit``, that chain is what
``clone``, ``cross_val_score`` or a pipeline reproduce, and what the run folder and the MLflow
registry serve; nothing outside the estimator can skip the calibration.

Why booster + calibrator: the booster's raw margin (log-odds) is what SHAP explains additively,
so the explain stage needs ``booster_`` and :meth:`raw_margin`; the team needs a calibrated
probability (:meth:`predict_risk`), strictly increasing in the margin (``calibration.py``), so
distinct margins never tie. Both are saved together (:meth:`save`: text and JSON files, no
pickle), so the explanation and the score always describe the same model.

Columns are selected by name when the model was fitted on a frame: a frame with extra or
reordered columns scores the same, and an absent indicator (its source table is missing) is
scored as NaN, which LightGBM treats as "unknown", never as zero.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import TypeAlias

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from riskcohort.errors import UserError
from riskcohort.io import write_json, write_text
from riskcohort.modelling import calibration as cal_mod
from riskcohort.modelling import training

# X: a DataFrame (columns in feature_names_in_ order) or an array; y, weights: array-likes.
ArrayLike: TypeAlias = "pd.DataFrame | np.ndarray | pd.Series | list"

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # estimator.json layout; 1 = the pre-estimator folders (no estimator.json)
PREDICT_CHUNK_ROWS = 250_000  # rows per prediction chunk (a 117-indicator chunk: ~0.2 GB)


class OneClassError(UserError, ValueError):
    """Training rows with a single outcome: a user-fixable data problem and, for scikit-learn,
    a ``ValueError`` (the library's convention for unusable ``y``)."""


class CohortModel(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM classifier with time-ordered selection (a scikit-learn estimator).

    Parameters (stored as given; ``fit`` does all the work):

    - ``spec``: model spec (``[fixed]`` LightGBM parameters, ``[search]`` space, ``[selection]``
      metric, ``[monotone]``); None = :func:`riskcohort.modelling.config.default_model_spec`.
    - ``monotone``: constraint per feature (+1/-1/0), a list in column order or a dict by name.
    - ``validation``: ``rolling_origin`` (folds by snapshot date with a horizon gap; ``fit`` needs
      ``groups``), ``expanding`` (time-ordered by ``groups`` or row order, no gap) or
      ``stratified`` (shuffled; for data with no time order).
    - ``horizon_days``, ``n_folds``, ``block``, ``min_train``: the rolling-origin folds.
    - ``negative_sample``: share of negatives kept (weighted back), every positive kept.
    - ``calibration``: ``auto`` (chosen on later out-of-time data), ``platt`` or ``isotonic``.
    - ``categorical``: names of columns holding category codes (LightGBM splits them as sets).
    - ``interval_members``, ``interval_share``, ``interval_level``: the subsample ensemble
      behind :meth:`predict_interval` (0 members = no interval).
    - ``seed``: every random choice (sampling, LightGBM, the search's random trials).

    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    >>> y = (X["a"] + rng.normal(size=600) > 1.5).astype(int)
    >>> spec = {"fixed": {"num_threads": 1, "max_rounds": 50, "early_stopping_rounds": 10},
    ...         "search": {"n_trials": 1, "num_leaves": [4], "min_child_samples": [20]}}
    >>> m = CohortModel(spec=spec, validation="stratified").fit(X, y)
    >>> p = m.predict_proba(X)
    >>> p.shape, bool(np.all((p >= 0) & (p <= 1))), list(m.feature_names_in_)
    ((600, 2), True, ['a', 'b'])
    """

    def __init__(self, spec: dict | None = None, monotone: list[int] | dict | None = None,
                 validation: str = "rolling_origin", horizon_days: int = 365, n_folds: int = 3,
                 block: int = 2, min_train: int = 2, negative_sample: float = 1.0,
                 calibration: str = "auto", categorical: list[str] | None = None,
                 interval_members: int = 5,
                 interval_share: float = 0.2, interval_level: float = 0.9, seed: int = 0):
        self.spec = spec
        self.monotone = monotone
        self.validation = validation
        self.horizon_days = horizon_days
        self.n_folds = n_folds
        self.block = block
        self.min_train = min_train
        self.negative_sample = negative_sample
        self.calibration = calibration
        self.categorical = categorical
        self.interval_members = interval_members
        self.interval_share = interval_share
        self.interval_level = interval_level
        self.seed = seed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN = "unknown" (absent source), LightGBM routes it
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True  # calibrated on out-of-fold data, not the train set
        return tags

    # ---- fitting -------------------------------------------------------------------------
    def _spec(self) -> dict:
        if self.spec is not None:
            return self.spec
        from riskcohort.modelling.config import default_model_spec

        return default_model_spec()

    def _monotone(self, names: list[str]) -> list[int] | None:
        if self.monotone is None:
            return None
        if isinstance(self.monotone, dict):
            return [int(self.monotone.get(n, 0)) for n in names]
        mono = [int(v) for v in self.monotone]
        if len(mono) != len(names):
            raise ValueError(f"monotone has {len(mono)} entries for {len(names)} features")
        return mono

    def _check_params(self) -> None:
        if self.validation not in training.CV_SCHEMES:
            raise ValueError(f"validation={self.validation!r}: one of "
                             + ", ".join(training.CV_SCHEMES))
        if self.calibration not in ("auto", *cal_mod.METHODS):
            raise ValueError(f"calibration={self.calibration!r}: one of auto, "
                             + ", ".join(cal_mod.METHODS))
        if not 0 < self.negative_sample <= 1:
            raise ValueError(f"negative_sample={self.negative_sample!r}: 0 < value <= 1")
        if not 0 < self.interval_share < 1 or not 0 < self.interval_level < 1:
            raise ValueError("interval_share and interval_level must lie strictly in (0, 1)")

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            groups: ArrayLike | None = None, clusters: ArrayLike | None = None,
            feature_names: list[str] | None = None) -> CohortModel:
        """Select trial and rounds on time-ordered folds, calibrate out of fold, refit on all.

        ``groups``: the snapshot date of each row (``validation="rolling_origin"``, required) or
        a time key (``validation="expanding"``). ``clusters``: who each row is (a person): the
        interval subsamples keep a person's rows together. ``sample_weight`` multiplies the negative
        sampling weights; rows of validation folds whose weights are not all 1 (sampled
        validation negatives) are weighted in early stopping, the search metric and the
        calibrator. ``feature_names``: the column names of an array ``X`` (a large training
        matrix passed without a DataFrame around it, ``modelling.trainset``).

        Memory: float32 input stays float32 (the caller chose it; LightGBM bins float32 as it
        is), float64 stays float64, anything else becomes float64; folds are row ranges of it,
        not copies, when rows are sorted by ``groups``.
        """
        t0 = time.perf_counter()
        self._check_params()
        X_arr, y_raw = validate_data(self, X, y, dtype=[np.float64, np.float32],
                                     ensure_all_finite="allow-nan", ensure_min_samples=2)
        if feature_names is not None:
            if isinstance(X, pd.DataFrame) or len(feature_names) != X_arr.shape[1]:
                raise ValueError(f"feature_names: {len(feature_names)} names for an array of "
                                 f"{X_arr.shape[1]} columns (names come from a DataFrame's "
                                 "columns otherwise)")
            self.feature_names_in_ = np.asarray([str(n) for n in feature_names], dtype=object)
        check_classification_targets(y_raw)
        self.classes_ = np.unique(y_raw)
        yb = (y_raw == self.classes_[-1]).astype(float)
        if len(self.classes_) > 2:
            raise ValueError(f"Only binary classification is supported. The type of the target "
                             f"is multiclass ({len(self.classes_)} classes).")
        if len(self.classes_) != 2:
            n_snap = len(np.unique(np.asarray(groups))) if groups is not None else 1
            raise OneClassError(
                f"modelling: rule 'both outcomes in training': {len(self.classes_)} class(es) "
                f"in y; the {n_snap} training snapshots have {int(yb.sum())} positives in "
                f"{len(yb)} rows; use a longer data range or a larger dataset")
        names = self._names(X)
        spec = self._spec()
        monotone = self._monotone(names)
        w = training.sample_weights(yb, self.negative_sample, self.seed)
        if sample_weight is not None:
            w = w * _check_sample_weight(sample_weight, X_arr, dtype=np.float64)
        if self.validation == "rolling_origin":
            if groups is None:
                raise ValueError("validation='rolling_origin' needs groups= (the snapshot date "
                                 "of each row); use validation='expanding' or 'stratified' "
                                 "for data without snapshots")
            splits = training.rolling_origin_splits(groups, yb, self.horizon_days,
                                                    self.n_folds, self.block, self.min_train)
        else:
            splits = training.row_splits(self.validation, yb, groups, self.n_folds, self.seed)
        cats = list(self.categorical or [])
        found = training.search(X_arr, yb, w, splits, names, spec, monotone, self.seed, cats)
        self.calibrator_ = cal_mod.choose(self.calibration, found.oof_margin, found.oof_y,
                                          found.oof_time, weight=found.oof_weight)
        params = training.lgb_params(spec, found.trial, monotone, self.seed)
        params.pop("metric", None)
        t_fit = time.perf_counter()
        self.booster_ = training.train_booster(X_arr, yb, w, names, params, found.rounds, cats)
        t_members = time.perf_counter()
        self.members_ = training.subsample_members(
            X_arr, yb, w, names, params, found.rounds, int(self.interval_members),
            float(self.interval_share), self.seed, clusters, cats) if self.interval_members else []
        self.interval_scale_ = training.interval_scale(float(self.interval_share))
        cost = {"final_fit": round(t_members - t_fit, 2),
                "interval_members": round(time.perf_counter() - t_members, 2)}
        self.selection_ = {
            "hyperparameters": {**found.trial, "num_boost_round": found.rounds},
            "selection": {"metric": found.metric, "share": found.share},
            "search": found.results,
            "folds": [s.record for s in splits],
            "calibration": self.calibrator_,
            "interval": self._interval_record(),
            "negative_sample": self.negative_sample,
            "training_rows": int(len(yb)),
            "training_rows_used": int((w > 0).sum()),
            "training_positives": int(yb.sum()),
            "monotone_constraints": dict(zip(names, monotone or [0] * len(names), strict=True)),
            "seconds": round(time.perf_counter() - t0, 1),
            "seconds_by_step": cost,
        }
        logger.info("fitted: %s, calibration %s, %d interval members",
                    self.selection_["hyperparameters"], self.calibrator_["method"],
                    len(self.members_))
        return self

    def _names(self, X) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
        return [f"Column_{i}" for i in range(self.n_features_in_)]

    def _interval_record(self) -> dict:
        return {"method": "subsample ensemble", "members": len(self.members_),
                "share": float(self.interval_share), "level": float(self.interval_level),
                "scale": self.interval_scale_}

    # ---- prediction ----------------------------------------------------------------------
    def _matrix(self, X) -> np.ndarray:
        check_is_fitted(self, ("booster_", "calibrator_"))
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            return X.reindex(columns=list(names)).to_numpy(dtype=np.float64)
        if names is not None:
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} "
                          "was fitted with feature names", UserWarning, stacklevel=3)
        arr = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")
        return arr

    def _row_chunks(self, X):
        """The rows of ``X`` in chunks of :data:`PREDICT_CHUNK_ROWS`, each as the float64 matrix
        the booster reads. Why: a national population (2.3 M people x 117 indicators) is a
        2 GB matrix per copy; predicting a chunk at a time bounds the copy, and LightGBM scores
        each row on its own, so the result is the same."""
        n = len(X) if isinstance(X, pd.DataFrame) else None
        if n is None or n <= PREDICT_CHUNK_ROWS:
            yield self._matrix(X)
            return
        for start in range(0, n, PREDICT_CHUNK_ROWS):
            yield self._matrix(X.iloc[start:start + PREDICT_CHUNK_ROWS])

    def _predict(self, booster, X) -> np.ndarray:
        parts = [np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)
                 for x in self._row_chunks(X)]
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    def raw_margin(self, X: ArrayLike) -> np.ndarray:
        """LightGBM raw score (log-odds before calibration), one per row: what SHAP explains."""
        check_is_fitted(self, ("booster_", "calibrator_"))
        return self._predict(self.booster_, X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """scikit-learn name for :meth:`raw_margin` (same order as the probability)."""
        return self.raw_margin(X)

    def predict_risk(self, X: ArrayLike) -> np.ndarray:
        """Calibrated probability of the outcome, one per row (strictly increasing in margin)."""
        margin = self.raw_margin(X)
        return cal_mod.apply(self.calibrator_, margin)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """scikit-learn convention: column 1 = calibrated probability of ``classes_[1]``."""
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The more likely class (rarely the positive one here: rank by :meth:`predict_risk`)."""
        p = self.predict_risk(X)
        return self.classes_[(p >= 0.5).astype(int)]

    def predict_interval(self, X: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)``: an ``interval_level`` interval for each calibrated probability.

        Method: ``interval_members`` boosters refitted with the chosen trial and rounds on
        ``interval_share`` subsamples of people; their margin spread, scaled to a full-sample
        fit (:func:`training.interval_scale`) and times the normal quantile, is put around the
        model's margin and mapped through the calibrator. Captures: how much the fitted model
        depends on which people happened to be in the training data. Does not capture: the
        choice of hyperparameters and rounds, the calibrator's own uncertainty, a future unlike
        the past (drift, recording changes), or the chance nature of the outcome itself. NaN
        when fewer than two members could be trained.
        """
        check_is_fitted(self, ("booster_", "calibrator_"))
        margin = self._predict(self.booster_, X)
        if len(getattr(self, "members_", [])) < 2:
            nan = np.full(len(margin), np.nan)
            return nan, nan.copy()
        spread = np.std([self._predict(b, X) for b in self.members_], axis=0, ddof=1)
        half = norm.ppf(0.5 + float(self.interval_level) / 2) * spread * self.interval_scale_
        return (cal_mod.apply(self.calibrator_, margin - half),
                cal_mod.apply(self.calibrator_, margin + half))

    # ---- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``model.txt``, ``calibrator.json``, ``feature_names.json``, ``estimator.json``
        and ``members/member_NN.txt`` (text only, no pickle)."""
        check_is_fitted(self, ("booster_", "calibrator_"))
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        write_text(d / "model.txt", self.booster_.model_to_string())
        write_json(d / "calibrator.json", self.calibrator_)
        write_json(d / "feature_names.json", self._names(None))
        write_json(d / "estimator.json", {
            "format": FORMAT_VERSION, "params": self.get_params(),
            "classes": self.classes_.tolist(), "n_features_in": int(self.n_features_in_),
            "feature_names_known": hasattr(self, "feature_names_in_"),
            "interval": self._interval_record(),
            "selection": getattr(self, "selection_", None)})
        for i, member in enumerate(self.members_):
            write_text(d / "members" / f"member_{i + 1:02d}.txt", member.model_to_string())
        return d

    @classmethod
    def load(cls, directory: str | Path) -> CohortModel:
        """Read a model written by :meth:`save` (a missing calibrator is an error)."""
        d = Path(directory)
        calibrator = load_calibrator(d)
        booster = lgb.Booster(model_str=(d / "model.txt").read_text(encoding="utf-8"))
        est_path = d / "estimator.json"
        meta = json.loads(est_path.read_text(encoding="utf-8")) if est_path.is_file() else {}
        m = cls(**meta.get("params", {}))
        m.booster_, m.calibrator_ = booster, calibrator
        names = json.loads((d / "feature_names.json").read_text(encoding="utf-8"))
        m.n_features_in_ = len(names)
        if meta.get("feature_names_known", True):
            m.feature_names_in_ = np.asarray(names, dtype=object)
        m.classes_ = np.asarray(meta.get("classes", [0, 1]))
        m.members_ = [lgb.Booster(model_str=p.read_text(encoding="utf-8"))
                      for p in sorted((d / "members").glob("member_*.txt"))]
        m.interval_scale_ = float(meta.get("interval", {}).get(
            "scale", training.interval_scale(float(m.interval_share))))
        if meta.get("selection") is not None:
            m.selection_ = meta["selection"]
        return m


def load_calibrator(directory: Path) -> dict:
    """``calibrator.json`` of a saved model, checked usable; a UserError when missing or not.

    Why strict: a model without its calibrator would show uncalibrated numbers as if they were
    the calibrated score.
    """
    path = Path(directory) / "calibrator.json"
    if not path.is_file():
        raise UserError(f"model folder {Path(directory)}: calibrator.json missing; every model "
                        "is calibrated, re-run `riskcohort run`")
    try:
        calibrator = json.loads(path.read_text(encoding="utf-8"))
        cal_mod.apply(calibrator, np.zeros(1))  # an unusable calibrator fails here, not later
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"file {path}: not a usable calibrator ({exc})") from None
    return calibrator
