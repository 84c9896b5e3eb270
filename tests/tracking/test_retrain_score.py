"""retrain and score end to end on the tiny synthetic force (real contract, features, modelling)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from riskcohort import runfolder
from riskcohort.tracking import registry
from riskcohort.workflow import retrain

SPEC = """[fixed]
objective = "binary"
learning_rate = 0.1
num_threads = 1
max_bin = 31
max_rounds = 40
early_stopping_rounds = 10
[search]
n_trials = 1
num_leaves = [7]
min_child_samples = [50]
"""
# A short horizon and a broad outcome so the 3-year tiny preset has a backtest window with
# enough positives; small search and bootstrap keep it quick.
EXPERIMENT = """[experiment]
name = "tiny-retrain"
seed = 1
[outcome]
horizon_days = 120
serious_offences = ["homicide", "attempted_murder", "gbh_with_intent", "gbh", "abh",
                    "strangulation", "threats_to_kill"]
[training]
min_history_days = 90
max_snapshots = 8
cv_folds = 2
cv_block_months = 1
min_train_snapshots = 2
[model]
spec = "spec.toml"
calibration = "platt"
[cohort]
k = 50
[evaluation]
ks = [50]
n_boot = 100
"""
PERMISSIVE = {"ece_max": 1.0, "slope_range": (-1e9, 1e9), "check_topk": False}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from riskcohort.simulate import simulate

    out = tmp_path_factory.mktemp("tiny") / "data"
    simulate(out, preset="tiny", seed=0)
    return out


@pytest.fixture
def experiment(tmp_path):
    (tmp_path / "spec.toml").write_text(SPEC)
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.mark.slow
def test_retrain_first_champion_then_compare_on_same_window(tiny_data, experiment, store_uri,
                                                           tmp_path):
    first = retrain(experiment, tiny_data, out_dir=tmp_path / "r1", tracking_uri=store_uri)
    assert first.promoted and first.decision.reasons[0].startswith("no champion yet")
    c = MlflowClient(tracking_uri=store_uri, registry_uri=store_uri)
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 1, "challenger": 1}
    assert c.get_run(first.run_id).data.tags["promotion.decision"] == "promote"

    # Same data, same seed: the challenger ranks like the champion, so the paired interval of
    # the recall difference contains 0; with permissive calibration limits it is promoted...
    dry = retrain(experiment, tiny_data, out_dir=tmp_path / "r2", tracking_uri=store_uri,
                  dry_run=True, **PERMISSIVE)
    assert dry.decision.promote and not dry.promoted
    assert dry.decision.recall_diff_lo <= 0 <= dry.decision.recall_diff_hi
    assert dry.decision.champion_version == 1
    assert "recall_at_50" in {k.removeprefix("champion_same_window_")
                              for k in c.get_run(dry.run_id).data.metrics}
    # ... but a dry run changes nothing in the registry and registers no version.
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 1, "challenger": 1}
    assert len(c.search_model_versions(f"name='{registry.MODEL_NAME}'")) == 1
    assert c.get_run(dry.run_id).data.tags["promotion.dry_run"] == "true"
    assert "dry run" in (dry.run_dir / "promotion.md").read_text()

    # Evidence passing registers the challenger "awaiting approval": the champion stays ...
    real = retrain(experiment, tiny_data, out_dir=tmp_path / "r3", tracking_uri=store_uri,
                   **PERMISSIVE)
    assert real.decision.promote and not real.promoted
    assert real.decision.status == "awaiting approval"
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 1, "challenger": 2}
    assert "awaiting" in c.get_model_version(registry.MODEL_NAME, "2").description
    assert c.get_run(real.run_id).data.tags["promotion.status"] == "awaiting approval"
    names = {a.path for a in c.list_artifacts(real.run_id)}
    assert {"promotion.md", "promotion.json"} <= names
    assert "AWAITING APPROVAL" in (real.run_dir / "promotion.md").read_text()
    # ... until a person approves it (issue 18): then it moves, with the record
    from riskcohort.workflow.approve import approve

    approve(2, "A. Smith", "trial", tracking_uri=store_uri, run_dir=real.run_dir)
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 2, "challenger": 2}
    # --auto-approve (demo only) moves it at once and says so in the run's record
    auto = retrain(experiment, tiny_data, out_dir=tmp_path / "r4", tracking_uri=store_uri,
                   auto_approve=True, **PERMISSIVE)
    assert auto.promoted
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 3, "challenger": 3}
    assert "AUTO-APPROVED" in (auto.run_dir / "promotion.md").read_text()
    assert c.get_model_version(registry.MODEL_NAME, "3").tags[
        "riskcohort.approval.auto_approved"] == "true"


@pytest.mark.slow
def test_strict_calibration_keeps_champion_and_score_uses_registry(tiny_data, experiment,
                                                                   store_uri, tmp_path):
    from riskcohort.cli import app

    retrain(experiment, tiny_data, out_dir=tmp_path / "r1", tracking_uri=store_uri)
    runner = CliRunner()
    res = runner.invoke(app, ["retrain", str(experiment), "--data", str(tiny_data), "--out",
                              str(tmp_path / "r2"), "--tracking-uri", store_uri,
                              "--ece-max", "0", "--slope-min", "0.8", "--slope-max", "1.2"])
    assert res.exit_code == 0, res.output
    assert "KEEP the current champion" in res.output and "ECE" in res.output
    c = MlflowClient(tracking_uri=store_uri, registry_uri=store_uri)
    assert c.get_registered_model(registry.MODEL_NAME).aliases == {"champion": 1, "challenger": 2}

    out = tmp_path / "scored"
    res = runner.invoke(app, ["score", "--model", "champion", "--data", str(tiny_data),
                              "--as-of", "2026-06-01", "--out", str(out),
                              "--tracking-uri", store_uri])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["scored_with"]["version"] == 1 and manifest["as_of"] == "2026-06-01"
    assert manifest["horizon_days"] == 120
    scores = pd.read_csv(out / "scores.csv")
    feats = pd.read_parquet(out / "features.parquet")
    assert len(scores) == len(feats) > 0
    # competition ranks: 1 + how many score strictly higher (ties share a rank, marked tied)
    higher = (scores["score"].to_numpy()[None, :] > scores["score"].to_numpy()[:, None]).sum(1)
    assert (scores["rank"].to_numpy() == 1 + higher).all()
    assert scores["tied"].to_numpy().tolist() == scores["rank"].duplicated(keep=False).tolist()
    # the cohort is the top 50 grown to take a tie at the cut whole, as the manifest says
    assert (scores["in_cohort"] == (scores["rank"] <= 50)).all()
    assert scores["in_cohort"].sum() == manifest["cohort_size"] >= 50
    assert {"model.txt", "calibrator.json", "feature_names.json"} <= {
        p.name for p in (out / "model").iterdir()}
    scored = runfolder.open_run(out)  # published whole: verified, explained like any run
    assert scored.manifest.kind == "score" and scored.explanations() is not None
    assert not str(scored.manifest.data_dir).startswith("/")

    # an existing --out is never mixed: refused without --overwrite, nothing touched
    before = (out / "run.json").read_bytes()
    res = runner.invoke(app, ["score", "--model", "champion", "--data", str(tiny_data),
                              "--as-of", "2026-07-01", "--out", str(out),
                              "--tracking-uri", store_uri])
    assert res.exit_code == 2 and "already exists" in res.output and "--overwrite" in res.output
    assert (out / "run.json").read_bytes() == before
    # the champion's run folder is protected even with --overwrite, naming the version
    res = runner.invoke(app, ["retrain", str(experiment), "--data", str(tiny_data), "--out",
                              str(tmp_path / "r1"), "--overwrite", "--tracking-uri", store_uri])
    assert res.exit_code == 2 and "champion" in res.output and "version 1" in res.output
    runfolder.open_run(tmp_path / "r1")
