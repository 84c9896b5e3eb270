"""CLI commands of the governance stage (registered on the main app by riskcohort.cli)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``riskcohort report``."""

    @app.command("report")
    def report_command(
        run_dir: Path = typer.Argument(..., help="A run folder written by `riskcohort run`."),
        out: Path | None = typer.Option(None, "--out", help="HTML file (default RUN_DIR/report.html)."),
        pdf: bool = typer.Option(False, "--pdf", help="Also write a PDF beside the HTML (WeasyPrint)."),
        previous: Path | None = typer.Option(
            None, "--previous", help="Run folder of the previous iteration, for drift (PSI)."),
        n_boot: int = typer.Option(500, "--n-boot", min=20, help="Bootstrap resamples for intervals."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    ) -> None:
        """Write the governance pack: model card, data, performance, fairness audit, bias check,
        drift, ALGO-CARE and an ATRS record, as one self-contained HTML file."""
        from riskcohort.governance import report

        path = report(run_dir, out=out, pdf=pdf, previous=previous, n_boot=n_boot, seed=seed)
        typer.echo(f"governance pack: {path}")
        typer.echo(f"transparency record: {path.with_suffix('.atrs.md')}")
        if pdf:
            typer.echo(f"pdf: {path.with_suffix('.pdf')}")
