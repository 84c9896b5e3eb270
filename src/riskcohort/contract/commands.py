"""CLI commands of the contract stage (registered on the main app by riskcohort.cli).

``riskcohort validate DATA_DIR [--out REPORT_DIR] [--strict]``. The report folder defaults to
``<DATA_DIR's parent>/<DATA_DIR's name>-validation`` so validation never writes into the input
folder. Exit codes: 0 (rows may have been quarantined), 1 with ``--strict`` when any row was
quarantined, 2 for a structural problem. The command prints a ``UserError`` itself (rather than
leaving it to ``cli.main``) so the exit code is the same under ``typer.testing.CliRunner``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def print_summary(report, console=None) -> None:
    """Rows read / accepted / quarantined per table and per rule (also used by the demo)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = console or Console()
    counts = RichTable(title=f"Validation of {report.data_dir}")
    for name in ("table", "file", "read", "accepted", "quarantined"):
        counts.add_column(
            name, justify="right" if name in ("read", "accepted", "quarantined") else "left"
        )
    for t in report.tables.values():
        style = "yellow" if t.quarantined else None
        counts.add_row(
            t.table, t.file, str(t.read), str(t.accepted), str(t.quarantined), style=style
        )
    for name in report.absent:
        counts.add_row(name, "(absent)", "-", "-", "-", style="dim")
    console.print(counts)
    if report.quarantined:
        by_rule = RichTable(title="Quarantined rows by rule")
        for name in ("table", "rule", "rows", "examples"):
            by_rule.add_column(name)
        for t in report.tables.values():
            for rule, n in t.rules.items():
                by_rule.add_row(t.table, rule, str(n), "; ".join(t.examples.get(rule, [])[:3]))
        console.print(by_rule)
    gx_ok = report.expectations_ok
    if gx_ok is not None:
        verdict = "all passed" if gx_ok else "[red]FAILED (see Data Docs)[/]"
        console.print(f"Great Expectations on accepted rows: {verdict}")
    console.print(f"fingerprint {report.fingerprint}")
    console.print(f"report: {report.report_dir}")
    if report.data_docs:
        console.print(f"data docs: {report.data_docs}")


def validate(
    data_dir: Path = typer.Argument(..., help="Dataset folder (CSV or Parquet tables)."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Report folder (quarantine files, validation.json, data_docs/). "
        "Default: <DATA_DIR>-validation next to DATA_DIR.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any row was quarantined."),
    data_docs: bool = typer.Option(
        True, "--data-docs/--no-data-docs", help="Build Great Expectations Data Docs."
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="External baseline scores file (default: in DATA_DIR)."
    ),
) -> None:
    """Check a dataset folder against the data contract; quarantine bad rows; write a report."""
    from rich.console import Console

    from riskcohort.contract.loader import default_report_dir, load_dataset
    from riskcohort.errors import UserError

    report_dir = out if out is not None else default_report_dir(data_dir)
    try:
        dataset = load_dataset(
            data_dir, report_dir=report_dir, data_docs=data_docs, baseline_path=baseline
        )
    except UserError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    report = dataset.report
    print_summary(report)
    if strict and report is not None and report.quarantined:
        Console(stderr=True).print(
            f"[bold red]strict:[/] {report.quarantined} rows quarantined", highlight=False
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    app.command("validate")(validate)
