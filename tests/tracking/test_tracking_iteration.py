"""log_iteration: params, metrics, tags, artifacts, baselines and the registry, on a tmp store."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from riskcohort import runfolder
from riskcohort.runfolder import layout as L
from riskcohort.tracking import iteration, registry
from riskcohort.tracking.iteration import log_iteration
from tests.tracking.tracking_data import amend


def _client(uri):
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_model_run_has_params_metrics_tags_artifacts(run_folder, store_uri):
    run_id = log_iteration(run_folder, config={"k": 100, "model": {"lr": 0.05}},
                           tracking_uri=store_uri)
    c = _client(store_uri)
    run = c.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert c.get_experiment(run.info.experiment_id).name == "exp-test"
    p, m, t = run.data.params, run.data.metrics, run.data.tags
    assert p["config.model.lr"] == "0.05" and p["hp.num_leaves"] == "7"
    assert json.loads(p["features"])[0] == "da_count_365d"
    assert p["data_fingerprint"] == "sha256-0" and p["version.lightgbm"]
    assert p["code_version"]
    metrics = json.loads((run_folder / "metrics.json").read_text())
    rec = metrics["scores"]["model"]["recall@100"]
    assert m["recall_at_100"] == pytest.approx(rec["value"])
    assert m["recall_at_100_lo"] == pytest.approx(rec["lo"])
    assert m["recall_at_100_hi"] == pytest.approx(rec["hi"])
    assert m["paired_dash_recall_at_100"] == pytest.approx(
        metrics["differences"]["dash"]["recall@100"]["value"])
    assert t["kind"] == "model" and t[registry.COMPLETE_TAG] == "true"
    arts = {a.path for a in c.list_artifacts(run_id)}
    assert {"scores.csv", "metrics.json", "run.json", "report.html", "plots", "model_files"} <= arts
    assert {a.path for a in c.list_artifacts(run_id, "plots")} == {"plots/importance.svg"}
    assert json.loads((run_folder / "run.json").read_text())["mlflow_run_id"] == run_id


def test_model_flavour_signature_and_calibrator(run_folder, store_uri, tmp_path):
    import mlflow

    run_id = log_iteration(run_folder, tracking_uri=store_uri)
    uri = _client(store_uri).get_run(run_id).data.tags[registry.MODEL_URI_TAG]
    info = mlflow.models.get_model_info(uri)
    # the calibrated pyfunc (logged as code), not the raw LightGBM flavour
    assert "python_function" in info.flavors and "lightgbm" not in info.flavors
    assert "cohort_model" in info.flavors["python_function"]["artifacts"]
    assert [s.name for s in info.signature.inputs.inputs][:2] == ["da_count_365d", "harm_365d"]
    assert info.saved_input_example_info is not None
    reg = registry.load_registered("challenger", tracking_uri=store_uri, dst=tmp_path / "dl")
    assert (reg.model_dir / "calibrator.json").read_text() == (
        run_folder / "model" / "calibrator.json").read_text()
    assert reg.run_id == run_id


def test_baselines_are_runs_with_identical_metric_names(run_folder, store_uri):
    run_id = log_iteration(run_folder, tracking_uri=store_uri)
    c = _client(store_uri)
    exp = c.get_run(run_id).info.experiment_id
    baselines = c.search_runs([exp], "tags.kind = 'baseline'")
    names = {r.data.tags["baseline"] for r in baselines}
    assert names == {"dash", "rfgv", "harm_sum", "iteration2", "incumbent", "oracle"}
    model_names = {k for k in c.get_run(run_id).data.metrics if not k.startswith("paired")}
    for r in baselines:
        assert r.data.tags["riskcohort.model_run_id"] == run_id
        assert {"recall_at_100", "recall_at_100_lo", "recall_at_100_hi"} <= set(r.data.metrics)
        assert set(r.data.metrics) <= model_names  # rules lack calibration metrics only
    assert set(c.search_runs([exp], "tags.baseline = 'oracle'")[0].data.metrics) == model_names


def test_first_model_is_champion_and_relog_is_idempotent(run_folder, store_uri):
    first = log_iteration(run_folder, tracking_uri=store_uri)
    again = log_iteration(run_folder, tracking_uri=store_uri)
    assert first == again
    c = _client(store_uri)
    versions = c.search_model_versions(f"name='{registry.MODEL_NAME}'")
    assert len(versions) == 1
    rm = c.get_registered_model(registry.MODEL_NAME)
    assert rm.aliases == {"champion": 1, "challenger": 1}


def test_second_iteration_is_challenger_only(run_folder, store_uri, tmp_path):
    from tests.tracking.tracking_data import run_copy

    log_iteration(run_folder, tracking_uri=store_uri)
    second = run_copy(tmp_path / "run2", seed=1)
    log_iteration(second, tracking_uri=store_uri)
    aliases = _client(store_uri).get_registered_model(registry.MODEL_NAME).aliases
    assert aliases == {"champion": 1, "challenger": 2}


def test_interrupted_logging_leaves_no_version_or_alias(run_folder, store_uri, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(iteration, "_log_model", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        log_iteration(run_folder, tracking_uri=store_uri)
    c = _client(store_uri)
    runs = c.search_runs([c.get_experiment_by_name("exp-test").experiment_id])
    assert {r.info.status for r in runs if r.data.tags["kind"] == "model"} == {"FAILED"}
    assert c.search_model_versions(f"name='{registry.MODEL_NAME}'") == []
    assert json.loads((run_folder / "run.json").read_text())["mlflow_run_id"] is None
    with pytest.raises(Exception, match="not complete"):
        registry.register_model(runs[0].info.run_id, tracking_uri=store_uri)
    monkeypatch.undo()
    run_id = log_iteration(run_folder, tracking_uri=store_uri)  # re-running is safe
    assert [v.run_id for v in c.search_model_versions(f"name='{registry.MODEL_NAME}'")] == [run_id]


def test_score_now_run_without_backtest_metrics(run_folder, store_uri):
    """A run scoring "now" has no outcome window: no system metrics, so no baseline runs."""
    amend(run_folder, remove=[L.FEATURES], metrics=runfolder.Metrics(
        backtest=False, validation={"mean_ap": 0.12}, incumbent={"coverage": 0.8}))
    run_id = log_iteration(run_folder, tracking_uri=store_uri)
    c = _client(store_uri)
    run = c.get_run(run_id)
    assert run.data.metrics == {"validation_mean_ap": 0.12, "incumbent_coverage": 0.8}
    assert c.search_runs([run.info.experiment_id], "tags.kind = 'baseline'") == []
    assert c.get_registered_model(registry.MODEL_NAME).aliases["champion"] == 1


def test_first_is_champion_can_be_switched_off(run_folder, store_uri):
    log_iteration(run_folder, tracking_uri=store_uri, first_is_champion=False)
    aliases = _client(store_uri).get_registered_model(registry.MODEL_NAME).aliases
    assert aliases == {"challenger": 1}
