"""Per-row explanations in log-odds for either model family, in the run folder's long format.

LightGBM goes through the one SHAP adapter (:mod:`riskcohort.explain.shap_adapter`). For the
logistic challenger the decomposition is exact and needs no SHAP: each original column's effect
is the sum over its transformed columns of ``coef * (z - mean_train(z))``, and the base value is
the log-odds of an average training row. Either way ``base + sum(contributions) == margin``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.tabular.models import Candidate


def _linear_blocks(transformer) -> list[tuple[str, slice, list[str]]]:
    """(block name, output slice, original column of each output) for a fitted ColumnTransformer."""
    blocks = []
    for name, fitted, columns in transformer.transformers_:
        if name == "remainder" or not len(columns):
            continue
        out = transformer.output_indices_[name]
        if name == "cat":
            owners = [c for c, levels in zip(columns, fitted.categories_, strict=True)
                      for _ in levels]
        else:
            imputer = fitted.steps[-2][1] if name == "log" else fitted.steps[0][1]
            flagged = [columns[i] for i in getattr(imputer.indicator_, "features_", [])] \
                if imputer.indicator_ is not None else []
            owners = list(columns) + flagged
        blocks.append((name, out, owners))
    return blocks


def linear_contributions(candidate: Candidate, X: pd.DataFrame, X_train: pd.DataFrame):
    """Exact additive log-odds contributions per original column for the logistic model."""
    cats = {c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    transformer, model = candidate.model[0], candidate.model[-1]
    z = transformer.transform(X.astype(cats))
    z_mean = transformer.transform(X_train.astype(cats)).mean(axis=0)
    coef = model.coef_.ravel()
    per_output = (z - z_mean) * coef
    contrib = pd.DataFrame(0.0, index=X.index, columns=list(X.columns))
    for _, out, owners in _linear_blocks(transformer):
        block = per_output[:, out]
        for j, owner in enumerate(owners):
            contrib[owner] += block[:, j]
    base = float(model.intercept_[0] + coef @ z_mean)
    return base, contrib.to_numpy()


def contributions(candidate: Candidate, X: pd.DataFrame, X_train: pd.DataFrame):
    """(base value, contributions[n, p]) in log-odds for the chosen model."""
    if candidate.family == "lightgbm":
        from riskcohort.explain.shap_adapter import contributions as tree_contributions
        from riskcohort.tabular.models import lgb_matrix

        return tree_contributions(candidate.model.booster_, lgb_matrix(X)[0])
    return linear_contributions(candidate, X, X_train)


def long_format(ids: pd.Series, X: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """person_id, indicator, value, contribution: the layout of ``explanations.parquet``."""
    n, p = values.shape
    shown = X.astype({c: str for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)})
    return pd.DataFrame({
        "person_id": np.repeat(ids.astype(str).to_numpy(), p),
        "indicator": np.tile(np.asarray(X.columns, dtype=object), n),
        "value": shown.to_numpy(dtype=object).ravel(),
        "contribution": values.ravel(),
    }).astype({"value": str})
