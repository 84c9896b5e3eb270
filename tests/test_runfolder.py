"""The run folder: published whole or not at all, verified by every read, versioned."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from riskcohort import runfolder as rf
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L


def _scores(score: float = 0.1) -> pd.DataFrame:
    return pd.DataFrame({"person_id": ["a", "b"], "as_of": ["2024-01-01"] * 2,
                         "score": [score, score / 2], "rank": [1, 2], "in_cohort": [True, False],
                         "band": ["high", "low"]})


def publish(out, score=0.1, **kw):
    with rf.RunWriter(out, **kw) as w:
        w.write_frame(L.SCORES, _scores(score))
        w.write_metrics(rf.Metrics(backtest=False, validation={"mean_ap": 0.2}))
        w.write_text("plots/importance.svg", "<svg/>")
        return w.publish(rf.Manifest(as_of="2024-01-01", experiment="t"))


def test_published_folder_verifies_and_lists_every_file(tmp_path):
    out = publish(tmp_path / "run")
    run = rf.open_run(out)
    assert run.manifest.complete is True
    assert run.manifest.schema_version == rf.SCHEMA_VERSION
    assert set(run.manifest.files) == {L.SCORES, L.METRICS, "plots/importance.svg"}
    assert run.scores["person_id"].tolist() == ["a", "b"]
    assert run.metrics.validation == {"mean_ap": 0.2}
    assert [p.name for p in run.plots] == ["importance.svg"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_tampered_file_is_refused(tmp_path):
    out = publish(tmp_path / "run")
    (out / L.SCORES).write_text("person_id,score\nz,0.9\n")
    with pytest.raises(UserError, match="scores.csv differs from its sha256"):
        rf.open_run(out)


def test_missing_file_is_refused(tmp_path):
    out = publish(tmp_path / "run")
    (out / L.METRICS).unlink()
    with pytest.raises(UserError, match="metrics.json is missing"):
        rf.open_run(out)


def test_missing_complete_is_refused(tmp_path):
    out = publish(tmp_path / "run")
    data = json.loads((out / L.MANIFEST).read_text())
    del data["complete"]
    (out / L.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(UserError, match="complete: true"):
        rf.open_run(out)


def test_edited_manifest_is_refused(tmp_path):
    out = publish(tmp_path / "run")
    data = json.loads((out / L.MANIFEST).read_text())
    data["as_of"] = "2030-01-01"
    (out / L.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(UserError, match="run.json was edited"):
        rf.open_run(out)


def test_older_schema_names_both_versions(tmp_path):
    out = publish(tmp_path / "run")
    data = json.loads((out / L.MANIFEST).read_text())
    del data["schema_version"]
    (out / L.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(UserError, match=rf"schema version 1 \(unversioned\).*reads version "
                                        rf"{rf.SCHEMA_VERSION}"):
        rf.open_run(out)


def test_unknown_manifest_key_is_refused(tmp_path):
    out = publish(tmp_path / "run")
    data = json.loads((out / L.MANIFEST).read_text())
    data["max_snapshot"] = 12
    (out / L.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(UserError, match="unknown keys .*max_snapshot"):
        rf.open_run(out)


def test_existing_out_is_refused_without_overwrite(tmp_path):
    out = publish(tmp_path / "run")
    with pytest.raises(UserError, match="already exists.*--overwrite") as exc:
        rf.RunWriter(out)
    assert exc.value.exit_code == 2
    rf.open_run(out)  # untouched


def test_overwrite_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "run"
    publish(out, 0.1)
    (out / "stray.txt").write_text("from an older run")
    with rf.RunWriter(out, overwrite=True) as w:
        w.write_frame(L.SCORES, _scores(0.3))
        w.publish(rf.Manifest(as_of="2025-01-01"))
    run = rf.open_run(out)
    assert run.manifest.as_of == "2025-01-01" and not run.has(L.METRICS)
    assert sorted(p.name for p in out.iterdir()) == [L.MANIFEST, L.SCORES]
    assert run.scores["score"].iloc[0] == pytest.approx(0.3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_exception_mid_run_publishes_nothing_and_keeps_the_old_folder(tmp_path):
    out = publish(tmp_path / "run", 0.1)
    before = (out / L.MANIFEST).read_bytes()
    with pytest.raises(RuntimeError), rf.RunWriter(out, overwrite=True) as w:
        w.write_frame(L.SCORES, _scores(0.9))
        raise RuntimeError("killed during training")
    assert (out / L.MANIFEST).read_bytes() == before
    assert rf.open_run(out).scores["score"].iloc[0] == pytest.approx(0.1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError), rf.RunWriter(fresh) as w:
        w.write_frame(L.SCORES, _scores())
        raise RuntimeError("boom")
    assert not fresh.exists()


def test_guard_refuses_overwrite(tmp_path):
    out = publish(tmp_path / "run")

    def champion(path):
        raise UserError(f"{path} is the champion (registry version 3)")

    with pytest.raises(UserError, match="registry version 3"):
        rf.RunWriter(out, overwrite=True, guard=champion)


def test_leftovers_of_a_killed_writer_are_recovered(tmp_path):
    out = publish(tmp_path / "run")
    dead = 2 ** 22 + 12345  # beyond pid_max on Linux: no such process
    stale = tmp_path / f".run{L.STAGING_PREFIX}{dead}-abcd"
    stale.mkdir()
    aside = tmp_path / f".run{L.ASIDE_PREFIX}{dead}-abcd"
    out.rename(aside)  # killed between moving the old folder aside and publishing the new one
    rf.recover(out)
    assert not stale.exists() and not aside.exists()
    rf.open_run(out)


def test_attachment_is_verified_and_a_stale_one_hidden(tmp_path):
    out = publish(tmp_path / "run")
    rf.attach(out, L.REPORT_HTML, lambda p: p.write_text("<html>pack</html>"))
    run = rf.open_run(out)
    assert run.has(L.REPORT_HTML)
    (out / L.REPORT_HTML).write_text("<html>edited</html>")
    assert not rf.open_run(out).has(L.REPORT_HTML)
    with pytest.raises(UserError, match="part of the run"):
        rf.attach(out, L.SCORES, lambda p: p.write_text("x"))


def test_record_tracking_keeps_the_folder_verified(tmp_path):
    out = publish(tmp_path / "run")
    rf.record_tracking(out, "abc123")
    assert rf.open_run(out).manifest.mlflow_run_id == "abc123"


def test_absolute_paths_are_never_published(tmp_path):
    with pytest.raises(ValueError, match="absolute path"), rf.RunWriter(tmp_path / "r") as w:
        w.publish(rf.Manifest(as_of="2024-01-01", data_dir=str(tmp_path)))
    assert not (tmp_path / "r").exists()


def test_backtest_published_whole(tmp_path):
    out = tmp_path / "bt"
    with rf.BacktestWriter(out) as bw:
        for d in ("2024-01-01", "2024-07-01"):
            with bw.run_writer(d) as w:
                w.write_frame(L.SCORES, _scores())
                w.publish(rf.Manifest(as_of=d))
        assert not out.exists()
        bw.publish(rf.BacktestSummary(dates=[{"as_of": "2024-01-01"}],
                                      runs={"2024-01-01": "2024-01-01"}))
    assert rf.read_backtest(out).complete is True
    assert rf.find_runs(out) == [out / "2024-01-01", out / "2024-07-01"]
    rf.open_run(out / "2024-07-01")


def test_a_job_failing_mid_run_publishes_nothing_and_keeps_the_old_run(tmp_path, monkeypatch):
    """The run job end to end around a failure in training (as an interruption would raise)."""
    from types import SimpleNamespace

    import riskcohort.modelling.iteration as iteration
    from riskcohort.modelling.config import ExperimentConfig
    from riskcohort.workflow import run_experiment

    out = publish(tmp_path / "run", 0.1)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def training_dies(*_a, **_k):
        raise KeyboardInterrupt  # what Ctrl-C raises mid-training

    monkeypatch.setattr(iteration, "run_iteration", training_dies)
    dataset = SimpleNamespace(report=SimpleNamespace(tables={}, report_dir=None))
    cfg = ExperimentConfig(name="t", path=None, data_dir=None)
    with pytest.raises(UserError, match="already exists"):
        run_experiment(cfg, out_dir=out, dataset=dataset)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, out_dir=out, dataset=dataset, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    rf.open_run(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging, nothing aside


def test_validation_report_is_published_without_machine_paths(tmp_path):
    from riskcohort.contract.report import TableReport, ValidationReport
    from riskcohort.workflow.run import portable_validation

    data = tmp_path / "data"
    data.mkdir()
    with rf.RunWriter(tmp_path / "runs" / "r1") as w:
        staged = w.path(L.VALIDATION_DIR)
        staged.mkdir()
        ValidationReport(
            data_dir=str(data), fingerprint="f", absent=[], report_dir=str(staged),
            data_docs=str(staged / "data_docs" / "index.html"),
            tables={"incidents": TableReport("incidents", "incidents.csv", 3, 2, 1,
                                             quarantine_file=str(staged / "q.parquet"))},
        ).write(staged)
        portable_validation(w)
        out = w.publish(rf.Manifest(as_of="2024-01-01"))
    text = (out / L.VALIDATION_REPORT).read_text()
    assert str(tmp_path) not in text and ".staging-" not in text
    report = json.loads(text)
    assert (out / L.VALIDATION_DIR / report["data_dir"]).resolve() == data.resolve()
    assert report["tables"]["incidents"]["quarantine_file"] == "q.parquet"
    assert report["data_docs"] == "data_docs/index.html"
