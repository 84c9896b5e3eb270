"""``CohortModel`` is a scikit-learn estimator: the library's own checks, clone, pipelines, save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskcohort.modelling import CohortModel

# Small trees and few rounds: the checks use tiny data sets (20-300 rows).
SPEC = {"fixed": {"num_threads": 1, "max_rounds": 30, "early_stopping_rounds": 5,
                  "learning_rate": 0.3},
        "search": {"n_trials": 1, "num_leaves": [4], "min_child_samples": [2],
                   "min_data_in_bin": [1]}}

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of 2 is not a duplicated row for this estimator: LightGBM's leaf-size limits "
        "(min_child_samples) and histogram bins count rows, not weights, and the out-of-fold "
        "calibration may put the two copies of a duplicated row in different folds"),
}


def _small(**kw) -> CohortModel:
    return CohortModel(**{"spec": SPEC, "validation": "stratified", "n_folds": 2,
                          "interval_members": 2, **kw})


@parametrize_with_checks([_small()], expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _data(n=900, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.integers(0, 4, n).astype(float)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * X["a"] + X["c"] - 3)))).astype(int)
    return X, y


def test_init_only_stores_parameters_and_clone_round_trips():
    est = CohortModel(spec=SPEC, monotone=[1, 0, 1], calibration="platt", seed=7)
    params = est.get_params()
    assert params["spec"] is SPEC and params["monotone"] == [1, 0, 1] and params["seed"] == 7
    copy = clone(est)
    assert copy.get_params()["calibration"] == "platt" and copy is not est
    assert copy.set_params(seed=3).seed == 3 and est.seed == 7
    assert not hasattr(est, "booster_")
    with pytest.raises(NotFittedError):
        est.predict_risk(_data(10)[0])


def test_fit_learns_a_calibrated_strictly_ranked_model_and_save_load_is_exact(tmp_path):
    X, y = _data()
    m = _small(monotone={"a": 1, "c": 1}, interval_members=4).fit(X, y)
    assert list(m.feature_names_in_) == ["a", "b", "c"] and m.n_features_in_ == 3
    assert m.classes_.tolist() == [0, 1]
    assert m.calibrator_["method"] in ("platt", "isotonic")
    margin, p = m.raw_margin(X), m.predict_risk(X)
    order = np.argsort(margin)
    # strictly increasing: distinct margins never share a score
    dm, dp = np.diff(margin[order]), np.diff(p[order])
    assert np.all(dp[dm > 0] > 0) and np.all(dp[dm == 0] == 0)
    lo, hi = m.predict_interval(X)
    assert np.all(lo <= p) and np.all(p <= hi) and np.mean(hi > lo) > 0.9
    np.testing.assert_array_equal(m.predict_proba(X)[:, 1], p)
    m.save(tmp_path / "model")
    back = CohortModel.load(tmp_path / "model")
    assert back.get_params() == m.get_params()
    np.testing.assert_array_equal(back.predict_risk(X), p)
    np.testing.assert_array_equal(back.predict_interval(X)[1], hi)
    # columns by name: reordered and extra columns score the same
    np.testing.assert_array_equal(back.predict_risk(X[["c", "a", "b"]].assign(z=1.0)), p)
    assert not any(f.suffix == ".pkl" for f in (tmp_path / "model").rglob("*"))


def test_works_inside_pipelines_and_cross_validation():
    X, y = _data(600)
    pipe = make_pipeline(FunctionTransformer(lambda f: f.assign(d=f["a"] * f["c"])), _small())
    scores = cross_val_score(pipe, X, y, cv=2, scoring="roc_auc")
    assert scores.shape == (2,) and np.all(scores > 0.7)


def test_rolling_origin_needs_snapshot_groups():
    X, y = _data(200)
    with pytest.raises(ValueError, match="groups"):
        CohortModel(spec=SPEC).fit(X, y)


def test_a_missing_calibrator_is_an_error(tmp_path):
    from riskcohort.errors import UserError

    X, y = _data(400)
    _small().fit(X, y).save(tmp_path / "m")
    (tmp_path / "m" / "calibrator.json").unlink()
    with pytest.raises(UserError, match="calibrator.json missing"):
        CohortModel.load(tmp_path / "m")


def test_explain_reads_the_same_calibrator_and_refuses_a_missing_one(tmp_path):
    from riskcohort.errors import UserError
    from riskcohort.explain.calibration import load_calibration

    X, y = _data(400)
    m = _small().fit(X, y)
    m.save(tmp_path / "m")
    cal = load_calibration(tmp_path / "m")
    np.testing.assert_allclose(cal.probability(m.raw_margin(X)), m.predict_risk(X), atol=1e-12)
    (tmp_path / "m" / "calibrator.json").write_text('{"method": "isotonic", "x": [0], "y": [0]}')
    with pytest.raises(UserError, match="not a usable calibrator"):
        load_calibration(tmp_path / "m")
    (tmp_path / "m" / "calibrator.json").unlink()
    with pytest.raises(UserError, match="calibrator.json missing"):
        load_calibration(tmp_path / "m")
