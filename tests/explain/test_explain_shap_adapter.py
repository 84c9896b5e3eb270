"""The SHAP adapter: additivity, agreement with LightGBM, and every SHAP output shape."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap

from riskcohort.explain import shap_adapter as sa


@pytest.fixture(scope="module")
def model(run_dir, indicators):
    booster = lgb.Booster(model_file=str(run_dir / "model" / "model.txt"))
    X = pd.read_parquet(run_dir / "features.parquet")[indicators]
    return booster, X


def test_base_plus_contributions_is_raw_margin_for_everyone(model):
    booster, X = model
    base, values = sa.contributions(booster, X)
    margin = booster.predict(X, raw_score=True)
    assert values.shape == X.shape
    assert np.max(np.abs(base + values.sum(axis=1) - margin)) < 1e-6


def test_shap_treeexplainer_agrees_with_lightgbm_pred_contrib(model):
    booster, X = model
    base, values = sa.contributions(booster, X)
    base_lgb, values_lgb = sa.lightgbm_contributions(booster, X)
    assert base == pytest.approx(base_lgb, abs=1e-9)
    np.testing.assert_allclose(values, values_lgb, atol=1e-9)


def test_columns_are_taken_in_the_boosters_order(model):
    booster, X = model
    _, values = sa.contributions(booster, X)
    _, shuffled = sa.contributions(booster, X[list(X.columns)[::-1]])
    np.testing.assert_array_equal(values, shuffled)


V = np.arange(12, dtype=float).reshape(4, 3)


@pytest.mark.parametrize(
    "values, expected_value",
    [
        (V, -1.5),  # 2-D array, scalar base
        (V, np.array([-1.5])),  # length-1 base
        ([-V, V], [1.5, -1.5]),  # per-class list, per-class base
        (np.stack([-V, V], axis=-1), np.array([1.5, -1.5])),  # (n, p, k)
        (np.stack([-V, V], axis=0), [1.5, -1.5]),  # (k, n, p)
        (V, np.full(4, -1.5)),  # per-row base values
        (np.stack([-V, V], axis=-1), np.tile([1.5, -1.5], (4, 1))),  # per-row, per-class
    ],
)
def test_normalise_handles_each_shap_output_shape(values, expected_value):
    base, out = sa.normalise(values, expected_value, n=4, p=3)
    assert base == -1.5
    np.testing.assert_array_equal(out, V)


def test_normalise_accepts_an_explanation_object():
    exp = shap.Explanation(values=V, base_values=np.full(4, 0.25))
    base, out = sa.normalise(exp, None, n=4, p=3)
    assert base == 0.25
    np.testing.assert_array_equal(out, V)


def test_normalise_rejects_wrong_shapes_and_varying_base():
    with pytest.raises(ValueError, match="shape"):
        sa.normalise(np.zeros((4, 2)), 0.0, n=4, p=3)
    with pytest.raises(ValueError, match="differ"):
        sa.normalise(V, np.array([0.0, 1.0, 2.0, 3.0]), n=4, p=3)
