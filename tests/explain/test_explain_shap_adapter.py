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


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_deduplicated_contributions_equal_row_by_row_ones(zero_as_missing):
    rng = np.random.default_rng(3)
    n = 600
    X = pd.DataFrame({
        "count": rng.poisson(0.7, n).astype(float),  # many shared profiles
        "days": rng.choice([0.0, 1e-40, 3.0, 30.0, 400.0, np.nan], n),  # zeros, tiny, missing
        "flag": rng.integers(0, 2, n).astype(float),
        "cont": rng.normal(size=n).round(1),
    })
    y = ((X["count"] + X["flag"] + rng.normal(size=n)) > 1.5).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 3,
              "num_leaves": 8, "zero_as_missing": zero_as_missing}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=30)
    base, deduped = sa.contributions(booster, X, dedupe=True)
    base_all, direct = sa.lightgbm_contributions(booster, X)
    assert base == pytest.approx(base_all, abs=1e-12)
    np.testing.assert_allclose(deduped, direct, atol=1e-12)
    codes = sa.split_codes(booster, X.to_numpy())
    assert len(np.unique(codes, axis=0)) < n  # the shortcut actually merged rows


def test_split_codes_separate_values_either_side_of_a_threshold(model):
    booster, X = model
    splits = sa.split_thresholds(booster)
    j, thr = next((j, t[0]) for j, t in splits.items() if len(t))
    arr = np.repeat(X.to_numpy()[:1], 3, axis=0)
    arr[:, j] = [thr, np.nextafter(thr, np.inf), np.nan]
    codes = sa.split_codes(booster, arr)[:, j]
    assert len(set(codes)) == 3


def test_person_engine_matches_stated_engine(model):
    booster, X = model
    base_s, v_s = sa.contributions(booster, X.iloc[:7], engine="shap", dedupe=False)
    base_l, v_l = sa.contributions(booster, X.iloc[:7], engine="lightgbm")
    assert base_s == pytest.approx(base_l)
    np.testing.assert_allclose(v_s, v_l, atol=1e-12)


def test_categorical_splits_fall_back_to_exact_duplicates():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"cat": rng.integers(0, 6, 500).astype(float),
                      "num": rng.poisson(1.0, 500).astype(float)})
    y = (X["cat"].isin([1.0, 4.0]) ^ (rng.random(500) < 0.1)).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1,
                         "min_data_in_leaf": 5, "min_data_per_group": 5, "cat_smooth": 1},
                        lgb.Dataset(X, y, categorical_feature=["cat"]), num_boost_round=15)
    assert sa.split_thresholds(booster) is None
    _, deduped = sa.contributions(booster, X)
    _, direct = sa.lightgbm_contributions(booster, X)
    np.testing.assert_allclose(deduped, direct, atol=1e-12)


def test_shap_import_errors_do_not_keep_their_callers_alive():
    """shap stores every ImportError it swallowed, and its traceback's frames reach back to the
    code that imported shap: a run explaining for the first time kept its dataset and snapshot
    alive to the end of the process (issue 22). ``shap_module`` drops those frames."""
    import gc
    import weakref

    from shap.utils import _general

    class Held:  # stands for the run's data, a local of a frame below the import
        pass

    def importer():
        data = Held()
        try:
            raise ImportError("an optional extension shap could not import")
        except ImportError as error:
            _general.record_import_error("riskcohort-test", "not built", error)
        sa.shap_module()
        return weakref.ref(data)

    try:
        alive = importer()
        gc.collect()
        assert alive() is None
        assert _general.import_errors["riskcohort-test"][0] == "not built"  # the message stays
    finally:
        _general.import_errors.pop("riskcohort-test", None)
