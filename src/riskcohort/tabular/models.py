"""Model choice for tabular mode: the calibrated ``CohortModel`` versus a logistic regression.

Both are tuned by cross-validation inside the training rows only (time-ordered expanding folds
when the table has a time column, stratified folds otherwise), and the one with the better mean
validation ROC AUC is kept. The LightGBM side is the same estimator the cohort run uses
(:class:`riskcohort.modelling.CohortModel`: its search space, early stopping and out-of-fold
calibration), not a second tuning loop; only its search space is sized for a single table
(:data:`TABULAR_SPEC`). The logistic challenger matters on small tables, where a boosted model
over-fits and a linear model with sensible transforms is often as good and easier to explain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from riskcohort.modelling import CohortModel
from riskcohort.modelling.training import row_splits

#: The estimator's spec for one table (hundreds to tens of thousands of rows): the cohort
#: spec's learning rate and early stopping, smaller leaves (a table is far smaller than a
#: force's monthly snapshots).
TABULAR_SPEC = {
    "fixed": {"objective": "binary", "learning_rate": 0.05, "bagging_fraction": 0.9,
              "num_threads": 2, "max_rounds": 1000, "early_stopping_rounds": 50},
    "search": {"n_trials": 3, "num_leaves": [7, 15, 31], "min_child_samples": [20, 40, 80],
               "feature_fraction": [0.9], "lambda_l2": [1.0]},
    "selection": {"metric": "average_precision"},
}
LR_GRID = (0.01, 0.1, 1.0)


def folds(y: np.ndarray, order: np.ndarray | None, n_folds: int = 3, seed: int = 0):
    """(train_idx, valid_idx) pairs: the estimator's own folds (``expanding`` by ``order``, or
    ``stratified``), so both families are compared on the same rows.

    >>> y = np.array([0, 1] * 4)
    >>> [(len(a), len(b)) for a, b in folds(y, np.arange(8), 3)]
    [(2, 2), (4, 2), (6, 2)]
    """
    scheme = "expanding" if order is not None else "stratified"
    return [(np.flatnonzero(s.train), np.flatnonzero(s.valid))
            for s in row_splits(scheme, np.asarray(y), order, n_folds, seed)]


def _safe_auc(y, p) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


@dataclass
class Candidate:
    """A tuned model family with its cross-validated score."""

    family: str
    params: dict
    cv_auc: float
    model: Any = None  # a fitted CohortModel (lightgbm) or sklearn Pipeline (logistic)
    notes: list[str] = field(default_factory=list)


def lgb_matrix(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Floats for LightGBM: categoricals become their integer codes (declared categorical).

    Plain floats keep one representation for training, prediction and the SHAP adapter.
    """
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    out = X.copy()
    for c in cats:
        out[c] = X[c].cat.codes.astype(float).where(X[c].cat.codes >= 0)
    return out.astype(float), cats


def tune_lightgbm(X: pd.DataFrame, y, order, monotone: list[int], seed: int = 0) -> Candidate:
    """Fit the calibrated ``CohortModel`` (search, early stopping, calibration inside ``fit``);
    its cross-validated AUC is the chosen trial's mean out-of-fold AUC."""
    y = np.asarray(y)
    X, cats = lgb_matrix(X)
    mono = [0 if c in cats else int(m) for c, m in zip(X.columns, monotone, strict=True)]
    model = CohortModel(spec=TABULAR_SPEC, monotone=mono, categorical=cats or None,
                        validation="expanding" if order is not None else "stratified",
                        interval_members=0, seed=seed)
    model.fit(X, y, groups=order)
    chosen: dict[str, Any] = model.selection_
    best = max(chosen["search"], key=lambda r: r["score"])
    return Candidate("lightgbm", {**chosen["hyperparameters"],
                                  "calibration": model.calibrator_["method"]},
                     float(np.nanmean(best["fold_auc"])), model)


def _linear_pipeline(X: pd.DataFrame, skewed: set[str], c_value: float, seed: int):
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    logged = [c for c in numeric if c in skewed]
    plain = [c for c in numeric if c not in skewed]
    num_steps = [SimpleImputer(strategy="median", add_indicator=True), StandardScaler()]
    transformers = [
        ("log", make_pipeline(FunctionTransformer(np.log1p), *num_steps), logged),
        ("num", make_pipeline(*num_steps), plain),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ]
    columns = ColumnTransformer([t for t in transformers if t[2]], sparse_threshold=0)
    model = LogisticRegression(C=c_value, max_iter=2000, random_state=seed)
    return make_pipeline(columns, model)


def tune_logistic(X: pd.DataFrame, y, order, skewed: set[str], seed: int = 0) -> Candidate:
    """L2-regularised logistic regression; log of skewed counts, one-hot categoricals."""
    y = np.asarray(y)
    X = X.astype({c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)})
    best: Candidate | None = None
    for c_value in LR_GRID:
        aucs = []
        for tr, va in folds(y, order, seed=seed):
            pipe = _linear_pipeline(X, skewed, c_value, seed).fit(X.iloc[tr], y[tr])
            aucs.append(_safe_auc(y[va], pipe.predict_proba(X.iloc[va])[:, 1]))
        score = float(np.nanmean(aucs)) if aucs else float("nan")
        if best is None or score > best.cv_auc:
            best = Candidate("logistic", {"C": c_value}, score)
    assert best is not None  # LR_GRID is not empty
    best.model = _linear_pipeline(X, skewed, best.params["C"], seed).fit(X, y)
    return best


def predict(candidate: Candidate, X: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class from either family (calibrated for LightGBM)."""
    if candidate.family == "lightgbm":
        return candidate.model.predict_risk(lgb_matrix(X)[0])
    cats = {c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    return candidate.model.predict_proba(X.astype(cats))[:, 1]


def margin(candidate: Candidate, X: pd.DataFrame) -> np.ndarray:
    """The log-odds the explanations add up to: LightGBM's raw margin (before calibration) or
    the logistic model's linear predictor."""
    if candidate.family == "lightgbm":
        return candidate.model.raw_margin(lgb_matrix(X)[0])
    cats = {c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    return candidate.model.decision_function(X.astype(cats))
