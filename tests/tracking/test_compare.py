"""compare table and cohort diff, from run folders and from logged run ids."""

from __future__ import annotations

import json

import pandas as pd
from rich.console import Console

from riskcohort.runfolder import layout as L
from riskcohort.tracking.compare import cohort_diff, compare_table
from riskcohort.tracking.iteration import log_iteration
from riskcohort.tracking.render import print_diff
from tests.tracking.tracking_data import amend, run_copy


def _render(table) -> str:
    console = Console(width=400, record=True)
    console.print(table)
    return console.export_text()


def test_compare_lists_model_and_baselines_with_intervals(run_folder, store_uri):
    run_id = log_iteration(run_folder, tracking_uri=store_uri)
    text = _render(compare_table([str(run_folder)], tracking_uri=store_uri, k=100))
    assert run_id[:8] in text
    for name in ("baseline:dash", "baseline:rfgv", "baseline:oracle", "recall@100"):
        assert name in text
    rec = json.loads((run_folder / "metrics.json").read_text())["scores"]["model"]["recall@100"]
    assert f"{rec['value']:.3f}" in text and f"[{rec['lo']:.3f}, {rec['hi']:.3f}]" in text
    by_exp = _render(compare_table(experiment="exp-test", tracking_uri=store_uri))
    assert by_exp.count("baseline:") == 6


def test_diff_entered_left_stayed(tmp_path):
    a = run_copy(tmp_path / "a", seed=0)
    b = run_copy(tmp_path / "b", seed=0)
    scores = pd.read_csv(b / "scores.csv", dtype={"person_id": str})
    in_a = set(pd.read_csv(a / "scores.csv", dtype={"person_id": str})
               .query("in_cohort")["person_id"])
    # move the last cohort member out and the first non-member in
    last = scores.query("in_cohort").sort_values("rank").iloc[-1]["person_id"]
    first_out = scores.query("not in_cohort").sort_values("rank").iloc[0]["person_id"]
    scores.loc[scores["person_id"] == last, "in_cohort"] = False
    scores.loc[scores["person_id"] == first_out, "in_cohort"] = True
    explanations = pd.DataFrame({
        "person_id": [first_out, first_out], "as_of": "2024-01-01",
        "indicator": ["da_count_365d", "harm_365d"], "value": [7.0, 3.0],
        "contribution": [0.9, -0.2]})
    amend(b, {L.SCORES: scores, L.EXPLANATIONS: explanations})
    d = cohort_diff(str(a), str(b))
    assert list(d.entered.index) == [first_out] and list(d.left.index) == [last]
    # the raising contribution only, in the catalogue's words with the person's value
    reason = d.entered.loc[first_out, "reasons"]
    assert "7" in reason and "da_count_365d" not in reason and "harm" not in reason
    assert set(d.stayed.index) == in_a - {last}
    assert (d.stayed["change"] == 0).all() and d.notes == []
    console = Console(width=300, record=True)
    print_diff(d, console)
    assert "1 entered, 1 left" in console.export_text()


def test_diff_by_run_id_without_explanations(tmp_path, store_uri):
    a = run_copy(tmp_path / "a", seed=0)
    b = run_copy(tmp_path / "b", seed=3)
    ids = [log_iteration(f, tracking_uri=store_uri, register=False) for f in (a, b)]
    d = cohort_diff(ids[0], ids[1], tracking_uri=store_uri)
    assert len(d.entered) == len(d.left) and len(d.entered) + len(d.stayed) == 100
    assert d.notes == ["explanations not available for run B: reasons not shown"]
    assert set(d.entered["reasons"]) <= {"explanations not available"}
