"""The `explain` and `explain-run` commands: JSON round trip, text output, user errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from riskcohort.display import percent
from riskcohort.errors import UserError
from riskcohort.explain import commands
from riskcohort.explain.person import explain_person


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    commands.register(app)
    return app


def test_json_output_round_trips(app, run_dir):
    result = CliRunner().invoke(app, ["explain", "P00005", "--run", str(run_dir),
                                      "--format", "json", "--no-evidence"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = explain_person(run_dir, "P00005", with_evidence=False).to_dict()
    assert data == json.loads(json.dumps(expected, default=str))


def test_text_output_shows_score_rank_and_reasons(app, run_dir):
    exp = explain_person(run_dir, "P00005", with_evidence=False)
    result = CliRunner().invoke(app, ["explain", "P00005", "--run", str(run_dir)],
                                terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"rank {exp.rank_text} of {exp.n_scored:,}" in result.output
    assert f"risk estimate {percent(exp.score)}" in result.output  # as the app's score card
    assert "What-if, not causation" in result.output


def test_unknown_person_is_a_user_error(app, run_dir):
    result = CliRunner().invoke(app, ["explain", "X999", "--run", str(run_dir)])
    assert isinstance(result.exception, UserError)
    assert "X999" in str(result.exception) and str(run_dir) in str(result.exception)


def test_explain_run_command_writes_files(app, tmp_path, build_run):
    run = build_run(tmp_path, n=50)
    result = CliRunner().invoke(app, ["explain-run", "--run", str(run), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "explanations.json").read_text())["n_people"] == 50
