"""The per-person section of the pack names a run folder that cannot be explained (no model,
or not there at all) by its name, never by this machine's absolute path: the pack is shared
with a board."""

from __future__ import annotations

from riskcohort.governance import persons
from riskcohort.runfolder import open_run
from tests.governance.gov_fixture import write_run


def test_a_run_without_a_model_is_named_by_its_folder_name(tmp_path):
    run_dir = write_run(tmp_path / "machine" / "runs", n=120, name="iteration-3")
    scores = open_run(run_dir).scores
    out = persons.section(run_dir, scores, n=4)
    note = out["note"]
    assert out["rows"] == [] and "not available" in note
    assert "iteration-3" in note and "has no model" in note
    assert str(tmp_path) not in note and "/machine/" not in note, note


def test_a_missing_run_folder_is_named_by_its_name(tmp_path):
    run_dir = write_run(tmp_path / "a", n=120, name="iteration-4")
    scores = open_run(run_dir).scores
    gone = tmp_path / "elsewhere" / "iteration-5"
    note = persons.section(gone, scores, n=4)["note"]
    assert "iteration-5" in note and str(tmp_path) not in note, note


def test_without_paths_keeps_words_with_slashes():
    text = "DASH/DARA grade and/or 1/2: see /var/lib/riskcohort/runs/x/run.json (row 3)"
    assert persons.without_paths(text, "/srv/none") == (
        "DASH/DARA grade and/or 1/2: see run.json (row 3)")
