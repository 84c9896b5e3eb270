"""riskcohort approve: the champion moves only with a named person's approval, recorded in
MLflow (tags, descriptions), beside the run (approval.json) and refused when the evidence failed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.tracking import registry, store

runner = CliRunner()


def _version(c, exp: str, tags: dict | None = None) -> int:
    """A FINISHED, complete model run registered as a new version (no modelling needed)."""
    run = c.create_run(exp, tags={"kind": "model", registry.COMPLETE_TAG: "true",
                                  registry.MODEL_URI_TAG: "models:/x", **(tags or {})})
    c.set_terminated(run.info.run_id)
    registry._ensure_registered_model(c)
    mv = c.create_model_version(registry.MODEL_NAME, source=f"{run.info.artifact_uri}/model",
                                run_id=run.info.run_id)
    return int(mv.version)


def test_approve_moves_champion_and_records(store_uri, tmp_path):
    c = store.client(store_uri)
    exp = c.create_experiment("approve-test")
    v1 = _version(c, exp)
    c.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, str(v1))
    v2 = _version(c, exp, {"promotion.status": "awaiting approval"})
    run_dir = tmp_path / "run2"
    run_dir.mkdir()
    result = runner.invoke(app, ["approve", f"v{v2}", "--by", "A. Smith", "--note",
                                 "12-month trial", "--role", "Chair, ethics board",
                                 "--run-dir", str(run_dir), "--tracking-uri", store_uri])
    assert result.exit_code == 0, result.output
    assert int(registry.current_version(c, registry.CHAMPION).version) == v2
    mv = c.get_model_version(registry.MODEL_NAME, str(v2))
    assert mv.tags["riskcohort.approval.name"] == "A. Smith"
    assert mv.tags["riskcohort.approval.decision"] == "approved"
    assert "A. Smith" in mv.description and "12-month trial" in mv.description
    old = c.get_model_version(registry.MODEL_NAME, str(v1))
    assert old.description.startswith(f"Not champion: replaced by version {v2}")
    record = json.loads((run_dir / "approval.json").read_text())
    assert record["schema"] == "riskcohort.approval/1"
    assert record["records"][-1]["role"] == "Chair, ethics board"
    assert c.get_run(mv.run_id).data.tags["promotion.status"] == "approved"


def test_approve_refuses_failed_evidence_and_bad_input(store_uri):
    c = store.client(store_uri)
    exp = c.create_experiment("approve-refuse")
    v1 = _version(c, exp)
    c.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, str(v1))
    v2 = _version(c, exp, {"promotion.status": "kept the champion",
                           "promotion.reasons": "recall@100 worse than the champion"})
    args = ["--by", "A. Smith", "--note", "x", "--tracking-uri", store_uri]
    result = runner.invoke(app, ["approve", str(v2), *args])
    assert result.exit_code == 2 and "cannot be approved" in result.output
    assert int(registry.current_version(c, registry.CHAMPION).version) == v1
    assert runner.invoke(app, ["approve", "99", *args]).exit_code == 2
    assert runner.invoke(app, ["approve", "three", *args]).exit_code == 2
    assert runner.invoke(app, ["approve", str(v1), *args]).exit_code == 2  # already champion
