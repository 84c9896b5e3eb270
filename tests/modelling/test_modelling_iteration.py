"""End to end: run_iteration on a generated contract dataset, published as a run folder; guards."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.modelling.config import ExperimentConfig
from riskcohort.modelling.iteration import run_iteration
from riskcohort.modelling.model import CohortModel
from riskcohort.runfolder import RunWriter, open_run
from riskcohort.workflow.run import run_into

SPEC = {"fixed": {"learning_rate": 0.1, "max_rounds": 300, "early_stopping_rounds": 30,
                  "num_threads": 1},
        "search": {"n_trials": 1, "num_leaves": [7], "min_child_samples": [50]},
        "monotone": {"use_catalogue": True}}


def config(**kw):
    base = dict(name="test", path=None, data_dir=None, model_spec=SPEC, n_boot=50,
                max_snapshots=18, min_train_snapshots=2, seed=3)
    return ExperimentConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data(dataset_factory):
    return dataset_factory(n=450, seed=1, serious_scale=0.4)


@pytest.mark.slow
def publish(cfg, data, as_of, out):
    """What the run job does, without validation: stage, explain, publish."""
    with RunWriter(out) as writer:
        result, manifest = run_into(writer, cfg, data, as_of)
        result.out_dir = writer.publish(manifest)
    return result


def test_run_writes_the_run_folder_and_is_deterministic(data, tmp_path):
    a = publish(config(), data, "2022-10-01", tmp_path / "a")
    b = publish(config(), data, "2022-10-01", tmp_path / "b")
    for name in ("scores.csv", "metrics.json", "features.parquet", "evaluation.parquet",
                 "run.json", "model/model.txt", "model/calibrator.json",
                 "model/feature_names.json", "explanations.parquet", "explanations.json"):
        assert (tmp_path / "a" / name).is_file(), name
    assert open_run(tmp_path / "a").manifest.complete  # verified: every file's sha256
    assert a.out_dir == tmp_path / "a" and a.evaluation is not None
    sa, sb = pd.read_csv(tmp_path / "a/scores.csv"), pd.read_csv(tmp_path / "b/scores.csv")
    pd.testing.assert_frame_equal(sa, sb)
    assert list(sa.columns)[:6] == ["person_id", "as_of", "score", "rank", "in_cohort", "band"]
    # competition ranks from the margin: a tie shares the best rank of the tie, and the cohort
    # (rank <= k) takes a tie at the cut-off whole; run.json says how large it became
    expected = sa["score"].rank(method="min", ascending=False).astype(int)
    assert sa["rank"].tolist() == expected.tolist()
    assert (sa.groupby("rank").size() > 1).eq(sa.groupby("rank")["tied"].all()).all()
    assert sa["in_cohort"].sum() >= min(100, len(sa))
    assert sa["in_cohort"].sum() == (sa["rank"] <= 100).sum()
    assert (sa["score_lo"] <= sa["score"]).all() and (sa["score"] <= sa["score_hi"]).all()
    assert sa.sort_values("rank")["score"].is_monotonic_decreasing
    run = json.loads((tmp_path / "a/run.json").read_text())
    assert run["cohort_size"] == sa["in_cohort"].sum()
    assert bool(run["cohort_note"]) == (run["cohort_size"] > 100)
    for key in ("experiment", "as_of", "data_dir", "fingerprint", "horizon_days", "k", "seed",
                "features", "absent_sources", "training_snapshots", "hyperparameters",
                "calibration", "backtest", "versions", "code_version", "created_at",
                "mlflow_run_id", "schema_version", "complete", "files", "quarantine",
                "previous_run"):
        assert key in run, key
    assert not run["data_dir"].startswith("/")  # no absolute machine path is published
    # leakage guard: every training snapshot's horizon ends by the as-of date
    assert all(pd.Timestamp(s) + pd.Timedelta(days=365) <= pd.Timestamp("2022-10-01")
               for s in run["training_snapshots"])
    assert "sex" not in run["features"] and "ethnicity" not in run["features"]
    assert "relationships" in run["absent_sources"]
    m = a.metrics
    assert m["backtest"] and {"model", "matac_rfgv", "v100_harm", "iteration_2"} <= set(m["scores"])
    assert m["scores"]["model"]["roc_auc"]["value"] > 0.6  # the generated signal is learnt
    assert "incumbent" not in m["scores"]  # no baseline_scores file: not compared
    # the saved model reproduces the scores from the saved features
    model = CohortModel.load(tmp_path / "a/model")
    feats = pd.read_parquet(tmp_path / "a/features.parquet")
    np.testing.assert_allclose(np.sort(model.predict_risk(feats)), np.sort(sa["score"]))
    assert b.scores["score"].tolist() == a.scores["score"].tolist()


@pytest.mark.slow
def test_labels_known_by_as_of_is_passed(data, tmp_path, monkeypatch):
    import riskcohort.features as features

    calls = []
    real = features.build

    def spy(d, as_of, **kw):
        calls.append(kw)
        return real(d, as_of, **kw)

    monkeypatch.setattr(features, "build", spy)
    run_iteration(config(n_boot=10), data, as_of="2022-10-01")
    training_call = [c for c in calls if c.get("labels")][0]
    assert str(pd.Timestamp(training_call["labels_known_by"]).date()) == "2022-10-01"


def test_as_of_before_data_and_too_early(data, tmp_path):
    with pytest.raises(UserError, match="after the first record"):
        run_iteration(config(), data, as_of="2010-01-01")
    with pytest.raises(UserError, match="training snapshots"):
        run_iteration(config(), data, as_of="2020-06-01")


def test_no_positives_in_training_window(dataset_factory, tmp_path):
    none = dataset_factory(n=200, seed=2, serious_scale=0.0)
    with pytest.raises(UserError, match="both outcomes"):
        run_iteration(config(), none, as_of="2022-10-01")


def test_too_few_snapshots_for_validation_refused_before_any_indicator_is_built(
        data, monkeypatch):
    """The fold rule is checked on the snapshot dates: a national training set takes many
    minutes to build, and a refusal after it wastes them."""
    from riskcohort.modelling import trainset

    def never(*args, **kwargs):
        raise AssertionError("the training set was built before the refusal")

    monkeypatch.setattr(trainset, "build_training_set", never)
    with pytest.raises(UserError, match="enough snapshots for time-ordered validation"):
        run_iteration(config(max_snapshots=4, min_train_snapshots=3), data, as_of="2022-10-01")
