"""Model choice for tabular mode: LightGBM versus a regularised logistic regression.

Both are tuned by cross-validation inside the training rows only (time-ordered expanding folds
when the table has a time column, stratified folds otherwise), and the one with the better mean
validation ROC AUC is kept. The logistic challenger matters on small tables, where a boosted model
over-fits and a linear model with sensible transforms is often as good and easier to explain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

LGB_GRID = (
    {"num_leaves": 7, "min_child_samples": 20},
    {"num_leaves": 15, "min_child_samples": 40},
    {"num_leaves": 31, "min_child_samples": 80},
)
LR_GRID = (0.01, 0.1, 1.0)


def folds(n_rows: int, label: np.ndarray, order: np.ndarray | None, n_folds: int = 3, seed=0):
    """Yield (train_idx, valid_idx): expanding time-ordered folds, or stratified folds.

    >>> [(len(a), len(b)) for a, b in folds(8, np.array([0, 1] * 4), np.arange(8), 3)]
    [(2, 2), (4, 2), (6, 2)]
    """
    if order is not None:
        ranked = np.argsort(order, kind="stable")
        size = n_rows // (n_folds + 1)
        for i in range(1, n_folds + 1):
            end = size * (i + 1) if i < n_folds else n_rows
            yield ranked[: size * i], ranked[size * i : end]
        return
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    yield from splitter.split(np.zeros(n_rows), label)


def _safe_auc(y, p) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


@dataclass
class Candidate:
    """A tuned model family with its cross-validated score."""

    family: str
    params: dict
    cv_auc: float
    model: object = None
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


def _lgb_params(grid_point: dict, monotone: list[int], seed: int) -> dict:
    return {
        "objective": "binary", "learning_rate": 0.05, "feature_fraction": 0.9,
        "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1,
        "num_threads": 2, "seed": seed, "deterministic": True, "force_row_wise": True,
        "monotone_constraints": monotone, **grid_point,
    }


def tune_lightgbm(X: pd.DataFrame, y, order, monotone: list[int], seed: int = 0) -> Candidate:
    """Grid over tree size with early stopping per fold; refit on all training rows."""
    y = np.asarray(y)
    X, cats = lgb_matrix(X)
    best = None
    for point in LGB_GRID:
        params, aucs, iters = _lgb_params(point, monotone, seed), [], []
        for tr, va in folds(len(X), y, order, seed=seed):
            if len(np.unique(y[tr])) < 2:
                continue
            booster = lgb.train(
                params, lgb.Dataset(X.iloc[tr], y[tr], categorical_feature=cats),
                num_boost_round=1000,
                valid_sets=[lgb.Dataset(X.iloc[va], y[va], categorical_feature=cats)],
                callbacks=[lgb.early_stopping(50, verbose=False)],
            )
            iters.append(booster.best_iteration or booster.current_iteration())
            aucs.append(_safe_auc(y[va], booster.predict(X.iloc[va], num_iteration=iters[-1])))
        score = float(np.nanmean(aucs)) if aucs else float("nan")
        if best is None or score > best.cv_auc:
            rounds = max(10, int(np.mean(iters))) if iters else 100
            best = Candidate("lightgbm", {**params, "num_boost_round": rounds}, score)
    params = dict(best.params)
    rounds = params.pop("num_boost_round")
    best.model = lgb.train(params, lgb.Dataset(X, y, categorical_feature=cats),
                           num_boost_round=rounds)
    best.params["num_boost_round"] = rounds
    return best


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
    best = None
    for c_value in LR_GRID:
        aucs = []
        for tr, va in folds(len(X), y, order, seed=seed):
            if len(np.unique(y[tr])) < 2:
                continue
            pipe = _linear_pipeline(X, skewed, c_value, seed).fit(X.iloc[tr], y[tr])
            aucs.append(_safe_auc(y[va], pipe.predict_proba(X.iloc[va])[:, 1]))
        score = float(np.nanmean(aucs)) if aucs else float("nan")
        if best is None or score > best.cv_auc:
            best = Candidate("logistic", {"C": c_value}, score)
    best.model = _linear_pipeline(X, skewed, best.params["C"], seed).fit(X, y)
    return best


def predict(candidate: Candidate, X: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class from either family."""
    if candidate.family == "lightgbm":
        return candidate.model.predict(lgb_matrix(X)[0])
    cats = {c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    return candidate.model.predict_proba(X.astype(cats))[:, 1]
