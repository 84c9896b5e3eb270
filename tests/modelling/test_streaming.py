"""The streamed training set equals the all-at-once one (issue 22.1), and a job that cannot fit
says so before any work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskcohort import features
from riskcohort.errors import UserError
from riskcohort.modelling import training, trainset
from riskcohort.modelling.config import load_experiment
from riskcohort.modelling.iteration import _build, training_snapshots

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "iteration-3.toml"
SPEC = {"fixed": {"num_threads": 1, "max_rounds": 40, "early_stopping_rounds": 10},
        "search": {"n_trials": 1, "num_leaves": [7], "min_child_samples": [20]}}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The small preset, loaded and validated, with a 24-snapshot experiment on it."""
    from riskcohort.contract import load_dataset
    from riskcohort.simulate import simulate

    out = tmp_path_factory.mktemp("small_stream")
    simulate(out, preset="small", seed=0)
    dataset = load_dataset(out)
    cfg = load_experiment(EXPERIMENT, data=out)
    cfg = dataclasses.replace(cfg, max_snapshots=24, negative_sample=0.2, model_spec=SPEC)
    as_of = pd.Timestamp(dataset.tables["incidents"]["recorded_at"].max()).date()
    return dataset, cfg, as_of, training_snapshots(cfg, dataset.tables, as_of)


def _all_at_once(dataset, cfg, snaps, as_of):
    """The old path: every snapshot in one build, sorted, then the same per-row sampling."""
    frame = features.build(dataset, snaps, labels=True, horizon_days=cfg.horizon_days,
                           serious_offences=cfg.serious_offences,
                           domestic_only=cfg.domestic_only, lookback_days=cfg.lookback_days,
                           labels_known_by=as_of)
    frame = frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
    w = trainset.sample_weights(frame, cfg.negative_sample, cfg.seed,
                                trainset.whole_snapshots(cfg, snaps))
    return frame.loc[w > 0].reset_index(drop=True), w[w > 0], len(frame)


@pytest.mark.slow
def test_streamed_training_set_equals_all_at_once_and_scores_equal(small_run):
    dataset, cfg, as_of, snaps = small_run
    calls, sampled = [], []

    def build(*args, **kw):
        calls.append(list(args[2]))
        out = _build(*args, **kw)
        assert "keep" in kw
        sampled.append(out.attrs["population_rows"] > len(out))
        return out

    streamed = trainset.build_training_set(dataset, cfg, snaps, known_by=as_of, build=build,
                                           batch_rows=6_000)
    assert len(calls) > 2 and sorted(sum(calls, [])) == sorted(snaps)  # really in batches
    assert any(sampled)  # training batches were sampled while built (validation kept whole)
    expected, w_expected, n_before = _all_at_once(dataset, cfg, snaps, as_of)
    got = streamed.frame
    assert streamed.rows_before_sampling == n_before
    assert 0 < len(got) < n_before  # negatives were sampled
    assert list(got.columns) == list(expected.columns)
    assert got["person_id"].astype(str).tolist() == expected["person_id"].astype(str).tolist()
    assert (pd.to_datetime(got["as_of"]) == pd.to_datetime(expected["as_of"])).all()
    for col in got.columns.drop(["person_id", "as_of"]):  # bit for bit, NaN where NaN
        assert np.array_equal(got[col].to_numpy(np.float64), expected[col].to_numpy(np.float64),
                              equal_nan=True), col
    assert np.array_equal(streamed.weights, w_expected)
    # one C-ordered matrix of the model inputs; float64 (every value as built) at this size
    assert streamed.X.flags["C_CONTIGUOUS"] and streamed.plan.matrix_dtype == "float64"
    assert streamed.X.dtype == np.float64 and not streamed.plan.rounded_columns
    assert streamed.features == training.feature_columns(expected, cfg.exclude_features)
    whole = set(streamed.whole_snapshots)
    dates = pd.to_datetime(got["as_of"]).dt.date
    assert whole and (streamed.weights[dates.isin(whole).to_numpy()] == 1).all()
    assert set(np.unique(streamed.weights)) == {1.0, 1 / cfg.negative_sample}

    cols = training.feature_columns(expected, cfg.exclude_features)
    kw = {"horizon_days": cfg.horizon_days, "seed": cfg.seed, "negative_sample": 0.2,
          "n_folds": cfg.cv_folds, "block": cfg.cv_block_months,
          "min_train": cfg.min_train_snapshots}
    m_stream, _ = training.fit(streamed.keys, cols, SPEC, sample_weight=streamed.weights,
                               matrix=(streamed.X, streamed.features), **kw)
    m_memory, _ = training.fit(expected, cols, SPEC, sample_weight=w_expected, **kw)
    now = _build(dataset, cfg, [as_of], False)
    assert np.array_equal(m_stream.predict_risk(now), m_memory.predict_risk(now))
    assert m_stream.selection_["negative_sample"] == 0.2
    assert list(m_stream.feature_names_in_) == cols
    assert streamed.record()["memory_plan"]["negative_sample_validation"] == 1.0


def test_sampling_keeps_every_positive_and_does_not_depend_on_order():
    n = 20_000
    frame = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)],
                          "as_of": pd.Timestamp("2024-01-01"),
                          "serious_harm": (np.arange(n) % 50 == 0).astype(int)})
    w = trainset.sample_weights(frame, 0.25, seed=3)
    assert (w[frame["serious_harm"] == 1] == 1).all()
    kept = (w[frame["serious_harm"] == 0] > 0).mean()
    assert abs(kept - 0.25) < 0.02
    shuffled = frame.sample(frac=1.0, random_state=1)
    w2 = trainset.sample_weights(shuffled, 0.25, seed=3)
    assert np.array_equal(pd.Series(w2, index=shuffled.index).sort_index().to_numpy(), w)
    assert not np.array_equal(trainset.sample_weights(frame, 0.25, seed=4), w)


def test_float32_only_where_exact():
    frame = pd.DataFrame({"count": [0.0, 3.0, np.nan], "rate": [0.1, 1 / 3, 2.0]})
    out = trainset.exact_float32(frame.copy(), ["count", "rate"])
    assert out["count"].dtype == np.float32 and out["rate"].dtype == np.float64


def test_job_that_cannot_fit_stops_before_building(monkeypatch, tables):
    cfg = load_experiment(EXPERIMENT, data=None)
    snaps = [d.date() for d in pd.date_range("2021-01-01", "2022-12-01", freq="MS")]
    sizes = trainset.population_sizes(tables, snaps, cfg.lookback_days, cfg.domestic_only)
    from riskcohort.features.engine import indicator_names

    full = trainset.estimate(sizes, snaps, trainset.whole_snapshots(cfg, snaps),
                             cfg.negative_sample, len(indicator_names()),
                             600, None).peak_bytes

    def build(*_args):
        raise AssertionError("built before the memory check")

    def stopped() -> str:
        with pytest.raises(UserError) as err:
            trainset.build_training_set(tables, cfg, snaps, known_by=pd.Timestamp("2023-12-31"),
                                        build=build, batch_rows=600)
        return str(err.value)

    monkeypatch.setattr(trainset, "available_bytes", lambda: int(full * 0.8))
    msg = stopped()  # a milder setting fits: named with its own estimate
    assert "fits in memory" in msg and trainset.size_text(full) in msg
    assert "set [training] " in msg and " MB) " in msg and "iteration-3.toml" in msg, msg
    monkeypatch.setattr(trainset, "available_bytes", lambda: 1000)
    assert "more memory" in stopped()
    monkeypatch.undo()
    monkeypatch.setenv("RISKCOHORT_MEMORY_LIMIT", "lots")
    with pytest.raises(UserError, match="RISKCOHORT_MEMORY_LIMIT"):
        trainset.available_bytes()
