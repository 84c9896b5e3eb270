"""Run folder loading, iteration history, the CLI's run/model handling and the SVG chart."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from riskcohort.app.charts import waterfall
from riskcohort.app.rundata import load_iteration, load_runs
from riskcohort.app.synthetic import build_run
from riskcohort.display import percent
from riskcohort.errors import UserError


def test_folder_of_runs_ordered_by_as_of(run_root, runs):
    assert [i.as_of for i in runs.iterations] == ["2026-01-01", "2026-02-01"]
    single = load_runs([run_root / "2026-01-01"])
    assert len(single.iterations) == 1 and single.previous is None
    h = runs.history("P000001")
    assert [x["as_of"] for x in h] == ["2026-01-01", "2026-02-01"]
    assert h[1]["rank"] == int(runs.current.scores.loc["P000001", "rank"])


def test_top_reasons_are_the_largest_positive_contributions(runs):
    it = runs.current
    pid = it.scores.sort_values("rank").index[0]
    terms = it.person_terms(pid)
    best = terms[0]
    assert best[2] == max(c for _, _, c in terms) and best[2] > 0
    assert it.scores.loc[pid, "reason1"] == it.reason_text(best[0], best[1])


def test_band_order_and_cohort(runs):
    it = runs.current
    means = it.scores.groupby("band")["score"].mean()
    assert list(means.sort_values(ascending=False).index) == it.bands
    assert int(it.scores["in_cohort"].sum()) == 50 == len(it.cohort_table)


def test_bad_run_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no run.json"):
        load_runs([tmp_path])
    with pytest.raises(UserError, match="not a folder"):
        load_runs([tmp_path / "missing"])
    run = build_run(tmp_path / "r", n=30, k=5, report=False)
    (run / "scores.csv").write_text("person_id,score\nP1,0.5\n")
    with pytest.raises(UserError, match="scores.csv differs from its sha256"):
        load_iteration(run)


def test_incomplete_run_folder_is_never_served(tmp_path):
    import json

    run = build_run(tmp_path / "r", n=30, k=5, report=False)
    manifest = json.loads((run / "run.json").read_text())
    manifest["complete"] = False
    (run / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="complete: true"):
        load_runs([run])


def test_report_and_fairness_are_verified_attachments(tmp_path):
    run = build_run(tmp_path / "r", n=30, k=5)
    it = load_iteration(run)
    assert it.report == run / "report.html" and [p.name for p in it.fairness] == ["fairness.csv"]
    (run / "report.html").write_text("<html>edited by hand</html>")
    assert load_iteration(run).report is None  # stale: hidden, the run itself still serves


def test_run_folder_is_not_modified(tmp_path):
    run = build_run(tmp_path / "r", n=40, k=5)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    load_runs([run])
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


def test_waterfall_bars_add_up():
    items = [(f"i{k}", (-1) ** k * (k + 1) / 10) for k in range(14)]  # percentage points
    svg = waterfall(0.05, items, top=10)
    assert svg.count("<rect") == 11 and "4 other indicators" in svg
    total = 0.05 + sum(c for _, c in items) / 100
    assert f"Risk estimate {percent(total)}" in svg and "Base estimate 5.0%" in svg
    assert "<script" not in svg and "style=" not in svg
    assert re.search(r"&lt;b&gt;", waterfall(0.1, [("<b>", 1.0)]))


def test_serve_needs_exactly_one_source_and_explains_model_alias(run_root, tmp_path):
    from riskcohort.cli import app

    r = CliRunner().invoke(app, ["serve", "--run", str(run_root), "--model", "champion",
                                 "--db", str(tmp_path / "a.db")])
    assert r.exit_code == 2 and "not both" in r.output
    r = CliRunner().invoke(app, ["serve", "--work", str(tmp_path), "--db", str(tmp_path / "a.db")])
    assert r.exit_code != 0 and "champion" in r.output  # no --run: the registry's champion
    r = CliRunner().invoke(app, ["serve", "--model", "champion", "--work", str(tmp_path),
                                 "--db", str(tmp_path / "a.db")])
    assert r.exit_code != 0 and "champion" in r.output


def test_find_run_folder_by_mlflow_run_id(tmp_path):
    import json

    from riskcohort.app.commands import find_run_folder

    for name, rid in (("a", "r1"), ("b", "r2")):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "run.json").write_text(json.dumps({"mlflow_run_id": rid}))
    assert find_run_folder(tmp_path, "r2") == tmp_path / "runs" / "b"
    assert find_run_folder(tmp_path, "r3") is None
