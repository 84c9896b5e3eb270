"""MLflow as a new data scientist meets it: runs named after their iteration, baselines nested
and dated, the experiment described, every version saying whether it is champion and why not,
compare at the cohort's k with whole names, families kept apart, typos creating nothing."""

from __future__ import annotations

from rich.console import Console
from typer.testing import CliRunner

from riskcohort import runfolder
from riskcohort.cli import app
from riskcohort.tracking import naming, registry, store
from riskcohort.tracking.compare import compare_table
from riskcohort.tracking.iteration import log_iteration
from tests.tracking.tracking_data import run_copy

runner = CliRunner()


def _render(table, width: int) -> str:
    console = Console(width=width, record=True)
    console.print(table)
    return console.export_text()


def test_runs_named_nested_described(tmp_path, store_uri):
    folder = run_copy(tmp_path / "iteration-2", seed=0)
    run_id = log_iteration(folder, tracking_uri=store_uri)
    c = store.client(store_uri)
    model = c.get_run(run_id)
    assert model.info.run_name == "iteration-2"
    assert model.data.tags[naming.ITERATION_TAG] == "iteration-2"
    assert model.data.tags["label_family"] == "serious_harm_v1"
    assert "iteration-2" in model.data.tags[naming.NOTE]
    baselines = c.search_runs([model.info.experiment_id],
                              f"tags.`riskcohort.model_run_id` = '{run_id}'")
    assert len(baselines) == 6
    as_of = model.data.tags["as_of"]
    for b in baselines:
        assert b.data.tags[naming.PARENT] == run_id  # nested under the model run in the UI
        assert b.info.run_name.endswith(f" @ {as_of}") and ":" not in b.info.run_name
    exp = c.get_experiment(model.info.experiment_id)
    assert exp.tags.get(naming.NOTE) and exp.tags["riskcohort.label_families"] == "serious_harm_v1"


def test_every_version_has_alias_or_reason(tmp_path, store_uri):
    log_iteration(run_copy(tmp_path / "iteration-1", seed=0), tracking_uri=store_uri)
    log_iteration(run_copy(tmp_path / "iteration-2", seed=1), tracking_uri=store_uri)
    c = store.client(store_uri)
    for mv in c.search_model_versions(f"name='{registry.MODEL_NAME}'"):
        full = c.get_model_version(registry.MODEL_NAME, mv.version)
        champion = "champion" in full.aliases
        assert full.description
        assert full.description.startswith("Champion") == champion
        if not champion:
            assert "Not champion" in full.description


def test_compare_defaults_to_cohort_k_whole_names_and_families(tmp_path, store_uri):
    first = run_copy(tmp_path / "iteration-strangulation-long-name", seed=0)
    with runfolder.RunWriter.amend(first) as w:  # a second outcome definition
        w.publish(w.manifest.replace(serious_offences=[
            "homicide", "attempted_murder", "gbh_with_intent", "gbh", "strangulation"]))
    log_iteration(first, tracking_uri=store_uri)
    log_iteration(run_copy(tmp_path / "iteration-2", seed=1), tracking_uri=store_uri)
    text = _render(compare_table(tracking_uri=store_uri), width=160)
    assert "top 100" in text and "top 50" not in text  # the cohort's k (100), not the smallest
    assert "iteration-strangulation-long-name" in text  # never wrapped mid-word
    assert "2 label families" in text
    assert "serious_harm_strangulation_v1" in text and "serious_harm_v1" in text
    lines = text.splitlines()

    def at(word: str) -> int:
        return next(i for i, line in enumerate(lines) if word in line)

    heads = {f: next(i for i, line in enumerate(lines) if f"{f} " in line
                     and "(label family)" in line)
             for f in ("serious_harm_strangulation_v1", "serious_harm_v1")}
    for row, own in ((at("iteration-strangulation"), "serious_harm_strangulation_v1"),
                     (at("iteration-2 "), "serious_harm_v1")):
        other = next(f for f in heads if f != own)
        assert heads[own] < row  # under its own family's heading
        assert not heads[own] < heads[other] < row  # and not under the other one


def test_compare_with_mistyped_work_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "work").mkdir()
    result = runner.invoke(app, ["compare", "--work", str(tmp_path / "wrok")])
    assert result.exit_code == 2
    assert "did you mean" in result.output and "nothing was created" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
