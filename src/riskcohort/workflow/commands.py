"""CLI of the jobs that are not a stage's own: ``riskcohort approve``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """``riskcohort approve``."""

    @app.command("approve")
    def approve_cmd(
        version: str = typer.Argument(..., help="Registered version of da-threat-to-life "
                                      "(e.g. 3 or v3)."),
        by: str = typer.Option(..., "--by", help="Name of the person approving."),
        note: str = typer.Option(..., "--note", help="Why, or on what conditions."),
        role: str = typer.Option("not stated", "--role", help="In what capacity (e.g. 'Chair, "
                                 "ethics board')."),
        run_dir: Path | None = typer.Option(None, "--run-dir", help="The version's run folder: "
                                            "approval.json is appended there for the pack."),
        db: str | None = typer.Option(None, "--db", help="Review app database URL: the approval "
                                      "is appended to its audit chain."),
        tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking "
                                                "URI."),
        work: Path | None = typer.Option(None, "--work", help="Work folder of the default "
                                         "store."),
    ) -> None:
        """Make a registered version champion, recording who approved it, when and why."""
        from riskcohort.tracking import store
        from riskcohort.workflow.approve import approve

        with store.friendly_errors(tracking_uri):
            res = approve(version, by, note, role=role, run_dir=run_dir, db=db,
                          tracking_uri=tracking_uri, work=work)
        prev = f"version {res['previous_champion']}" if res["previous_champion"] else "none"
        typer.echo(f"version {res['version']} is champion (was {prev}), approved by {res['by']} "
                   f"on {res['date']}; recorded in: {'; '.join(res['recorded'])}")
