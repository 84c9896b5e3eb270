"""Validation snapshots sampled above a row budget (issue 22.1): weights carried into the search
metric and the calibrator, so the calibrator sees the true base rate; force-sized jobs unchanged;
float32 kept by the estimator; folds are views, not copies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from riskcohort.modelling import calibration, training, trainset
from riskcohort.modelling.model import CohortModel


def _frame(n: int, as_of: str, every: int = 50) -> pd.DataFrame:
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(n)],
                         "as_of": pd.Timestamp(as_of),
                         "serious_harm": (np.arange(n) % every == 0).astype(int)})


def test_validation_weights_sum_to_the_true_negative_count():
    val = _frame(200_000, "2024-06-01")
    train = _frame(50_000, "2023-01-01")
    frame = pd.concat([train, val], ignore_index=True)
    whole = [pd.Timestamp("2024-06-01").date()]
    w = trainset.sample_weights(frame, 0.2, seed=5, whole=whole, validation_rate=0.3)
    y = frame["serious_harm"].to_numpy()
    in_val = (frame["as_of"] == "2024-06-01").to_numpy()
    assert (w[y == 1] == 1).all()  # every positive kept, weight 1
    assert set(np.unique(w[in_val & (y == 0)])) == {0.0, 1 / 0.3}
    assert set(np.unique(w[~in_val & (y == 0)])) == {0.0, 1 / 0.2}
    negatives = int((in_val & (y == 0)).sum())
    assert abs(w[in_val & (y == 0)].sum() / negatives - 1) < 0.02  # unbiased: sums to the count
    # a row kept at the lower rate is kept at the higher one (same row hash)
    lower = trainset.sample_weights(frame, 0.2, seed=5, whole=whole, validation_rate=0.2)
    assert ((lower > 0) <= (w > 0)).all()


def test_rates_unchanged_under_the_budget_and_budgeted_above_it():
    force = trainset.sampling_rates([81_000] * 36, list(range(36)), list(range(30, 36)), 0.2)
    assert (force.train, force.validation, force.reason) == (0.2, 1.0, "")
    national = trainset.sampling_rates([2_300_000] * 36, list(range(36)),
                                       list(range(30, 36)), 0.2)
    assert 0.2 <= national.validation < 1 and national.train < 0.2 and national.reason
    val_kept = 6 * 2_300_000 * national.validation
    assert val_kept <= trainset.VALIDATION_ROW_BUDGET  # about the budget, never above it
    kept = 30 * 2_300_000 * (national.train + 0.02) + 6 * 2_300_000 * (national.validation
                                                                        + 0.02)
    assert kept <= trainset.ROW_BUDGET
    plan = trainset.estimate([2_300_000] * 36, list(range(36)), list(range(30, 36)), 0.2, 117,
                             trainset.DEFAULT_BATCH_ROWS, None, national)
    assert plan.matrix_dtype == "float32" and plan.peak_bytes < 16 * trainset.GIB
    assert plan.as_dict()["negative_sample_validation"] == national.validation


def _calibration_data(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    margin = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-4.5 + 1.2 * margin)))).astype(float)
    return margin, y, rng


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_weighted_calibrator_sees_the_true_base_rate(method):
    margin, y, rng = _calibration_data()
    keep = (y == 1) | (rng.random(len(y)) < 0.1)
    w = np.where(y == 1, 1.0, 10.0)[keep]
    time_key = np.repeat(np.arange(4), len(y) // 4)[keep]
    weighted = calibration.choose(method, margin[keep], y[keep], time_key, weight=w)
    plain = calibration.choose(method, margin[keep], y[keep], time_key)
    base = y.mean()
    assert weighted["weighted"] is True and "weighted" not in plain
    assert abs(calibration.apply(weighted, margin).mean() / base - 1) < 0.1
    assert calibration.apply(plain, margin).mean() > 3 * base  # the sampled rate, not the true


def test_weighted_top_share_recall_matches_the_whole_population():
    margin, y, rng = _calibration_data(100_000, seed=1)
    groups = np.zeros(len(y), int)
    full = training.top_share_recall(y, margin, groups, 0.01)
    assert training.top_share_recall(y, margin, groups, 0.01, np.ones(len(y))) == full
    keep = (y == 1) | (rng.random(len(y)) < 0.25)
    w = np.where(y == 1, 1.0, 4.0)[keep]
    sampled = training.top_share_recall(y[keep], margin[keep], groups[keep], 0.01, w)
    unweighted = training.top_share_recall(y[keep], margin[keep], groups[keep], 0.01)
    assert abs(sampled - full) < 0.03 < abs(unweighted - full)


def test_folds_are_views_and_float32_is_kept():
    a = np.arange(40, dtype=np.float32).reshape(10, 4)
    assert np.shares_memory(training.take(a, np.arange(10) < 6), a)
    assert not np.shares_memory(training.take(a, np.arange(10) % 2 == 0), a)
    assert training.validation_weight(np.array([1.0, 0.0, 1.0])) is None
    assert training.validation_weight(np.array([1.0, 0.0, 4.0])).tolist() == [1.0, 1.0, 4.0]

    rng = np.random.default_rng(0)
    X = rng.integers(0, 20, size=(3000, 3)).astype(np.float32)
    y = (X[:, 0] + rng.normal(0, 3, 3000) > 22).astype(int)
    spec = {"fixed": {"num_threads": 1, "max_rounds": 30, "early_stopping_rounds": 5},
            "search": {"n_trials": 1, "num_leaves": [4], "min_child_samples": [20]}}
    m32 = CohortModel(spec=spec, validation="stratified", interval_members=0).fit(
        X, y, feature_names=["a", "b", "c"])
    m64 = CohortModel(spec=spec, validation="stratified", interval_members=0).fit(
        pd.DataFrame(X.astype(np.float64), columns=["a", "b", "c"]), y)
    assert list(m32.feature_names_in_) == ["a", "b", "c"]
    test = pd.DataFrame(X[:200].astype(np.float64), columns=["a", "b", "c"])
    assert np.array_equal(m32.predict_risk(test), m64.predict_risk(test))  # exact values
    with pytest.raises(ValueError, match="feature_names"):
        CohortModel(spec=spec, validation="stratified").fit(X, y, feature_names=["a"])


@pytest.mark.slow
def test_sampled_validation_path_on_the_small_preset(tmp_path, monkeypatch):
    """The budget forced low: validation negatives sampled and weighted, matrix float32, and
    the fitted model is calibrated on weighted rows to the true base rate of those snapshots."""
    from riskcohort.contract import load_dataset
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import _build, training_snapshots
    from riskcohort.simulate import simulate

    from .test_streaming import EXPERIMENT, SPEC

    simulate(tmp_path / "small", preset="small", seed=0)
    dataset = load_dataset(tmp_path / "small")
    cfg = dataclasses.replace(load_experiment(EXPERIMENT, data=tmp_path / "small"),
                              max_snapshots=24, negative_sample=0.2, model_spec=SPEC,
                              calibration="platt")
    as_of = pd.Timestamp(dataset.tables["incidents"]["recorded_at"].max()).date()
    snaps = training_snapshots(cfg, dataset.tables, as_of)
    whole = trainset.whole_snapshots(cfg, snaps)
    monkeypatch.setattr(trainset, "VALIDATION_ROW_BUDGET", 2_000)
    monkeypatch.setattr(trainset, "FLOAT64_MAX_ROWS", 1_000)
    tset = trainset.build_training_set(dataset, cfg, snaps, known_by=as_of)
    rates = tset.plan.rates
    assert 0.2 <= rates.validation < 1 and tset.X.dtype == np.float32
    val = tset.validation_rows
    y = tset.keys["serious_harm"].to_numpy()
    assert set(np.unique(tset.weights[val & (y == 0)])) == {1 / rates.validation}
    assert tset.record()["snapshots_kept_whole"] == []
    kw = {"horizon_days": cfg.horizon_days, "seed": cfg.seed, "negative_sample": 0.2,
          "n_folds": cfg.cv_folds, "block": cfg.cv_block_months,
          "min_train": cfg.min_train_snapshots, "calibration": "platt"}
    model, info = training.fit(tset.keys, tset.features, SPEC, sample_weight=tset.weights,
                               matrix=(tset.X, tset.features), **kw)
    assert info["calibration"]["weighted"] is True
    # the whole validation snapshots (unsampled) against the calibrated model's mean score
    full = _build(dataset, cfg, whole, True, as_of)
    true_rate = full["serious_harm"].mean()
    mean_score = model.predict_risk(full).mean()
    assert 0.5 < mean_score / true_rate < 2.0, (mean_score, true_rate)
