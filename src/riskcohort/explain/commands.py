"""CLI commands of the explain stage (registered on the main app by riskcohort.cli).

``riskcohort explain PERSON_ID --run OUT_DIR`` explains one person; ``riskcohort explain-run
--run OUT_DIR`` (re)writes the run-level explanations. Heavy imports stay inside the bodies so
``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from riskcohort.errors import UserError


def explain(
    person_id: str = typer.Argument(..., help="The person's id as in scores.csv."),
    run: Path = typer.Option(..., "--run", help="Run folder written by `riskcohort run`."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    as_of: str = typer.Option(None, "--as-of", help="Snapshot date if the run has several."),
    evidence: bool = typer.Option(True, "--evidence/--no-evidence",
                                  help="List the records behind each reason."),
) -> None:
    """Explain one person's score: reasons, the records behind them and a what-if."""
    if fmt not in ("text", "json"):
        raise UserError(f"option --format: {fmt!r} is not one of 'text', 'json'")
    from riskcohort.explain.person import explain_person
    from riskcohort.explain.render import print_text, to_json

    exp = explain_person(run, person_id, as_of=as_of, with_evidence=evidence)
    if fmt == "json":
        typer.echo(to_json(exp))
    else:
        print_text(exp)


def explain_run_cmd(
    run: Path = typer.Option(..., "--run", help="Run folder written by `riskcohort run`."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write the global plots."),
) -> None:
    """Write explanations.parquet, explanations.json and plots/ for a run folder."""
    from riskcohort.explain.run import explain_run

    summary = explain_run(run, plots=plots)
    typer.echo(f"explained {summary['n_people']} people; base value {summary['base_value']:.4f} "
               f"(log-odds); files in {run}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    app.command("explain")(explain)
    app.command("explain-run")(explain_run_cmd)
