"""CLI of the features stage: ``riskcohort features DATA_DIR --as-of ... --out FILE.parquet``.

Why a command: a force's analyst can build the indicator table for any dates without Python,
inspect it, and hand it to modelling. The output is written atomically; the Parquet schema
metadata (key ``riskcohort``) records the catalogue version, as-of dates, absent sources, label
settings and the input fingerprint, so a feature file says where it came from
(:func:`riskcohort.features.output.read_metadata`). A ``UserError`` is printed here (one line, no
traceback) so the exit code is the same under ``typer.testing.CliRunner``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def _dates(as_of: list[str] | None, monthly: tuple[str, str] | None) -> list:
    import pandas as pd

    from riskcohort.errors import UserError, examples

    dates = []
    try:
        dates = [pd.Timestamp(d) for d in as_of or []]
        if monthly and all(monthly):
            start, end = (pd.Timestamp(d) for d in monthly)
            dates += list(pd.date_range(start.to_period("M").to_timestamp(), end, freq="MS"))
    except ValueError:
        raise UserError(
            f"option --as-of/--monthly: rule date: not a YYYY-MM-DD date; got "
            f"{examples([*(as_of or []), *(monthly or [])])}"
        ) from None
    if not dates:
        raise UserError("option --as-of/--monthly: rule required: give at least one as-of date")
    return dates


def _engine_kwargs(engine: str, master: str) -> dict:
    """``build`` keywords for ``--engine``/``--spark-master`` (checked before data is read)."""
    from riskcohort.spark.session import use_engine

    with use_engine(engine, master):  # validates the name; spark: pyspark and Java present
        pass
    return {"engine": engine, "spark_master": master if engine == "spark" else None}


def features(
    data_dir: Path = typer.Argument(..., help="Dataset folder (CSV or Parquet contract tables)."),
    as_of: list[str] = typer.Option(None, "--as-of", help="As-of date YYYY-MM-DD (repeatable)."),
    monthly: tuple[str, str] | None = typer.Option(
        None, "--monthly", help="FROM TO: the first of every month from FROM to TO."
    ),
    out: Path = typer.Option(..., "--out", help="Output Parquet file."),
    labels: bool = typer.Option(False, "--labels", help="Add serious_harm, homicide, harm_weight."),
    horizon: int = typer.Option(365, "--horizon", help="Label horizon in days."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (this process) or spark "
                               "(the same indicators on Apache Spark)."),
    spark_master: str = typer.Option("local[2]", "--spark-master", help="Spark master for "
                                     "--engine spark: local[N], spark://HOST:7077, yarn..."),
) -> None:
    """Build point-in-time indicators (one row per person and as-of date) into a Parquet file."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from riskcohort.errors import UserError

    err = Console(stderr=True)
    try:
        dates = _dates(as_of, monthly)
        _engine_kwargs(engine, spark_master)  # a missing Java is said before reading the data
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err, transient=False) as progress:
            step = progress.add_task(f"reading {data_dir}", total=3)
            from riskcohort.contract import load_dataset
            from riskcohort.features.engine import build
            from riskcohort.features.output import write_features

            dataset = load_dataset(data_dir)
            progress.update(step, advance=1,
                            description=f"computing indicators for {len(dates)} as-of dates")
            frame = build(dataset, dates, labels=labels, horizon_days=horizon,
                          **_engine_kwargs(engine, spark_master))
            progress.update(step, advance=1, description=f"writing {out}")
            write_features(out, frame, dataset=dataset, labels=labels, horizon_days=horizon)
            progress.update(step, advance=1, description="done")
    except UserError as exc:
        from rich.markup import escape  # brackets in a message are text: local[2]

        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    console = Console()
    console.print(
        f"{len(frame)} rows ({frame['person_id'].nunique()} persons, {len(dates)} as-of dates), "
        f"{len(frame.columns) - 2} columns -> {out}"
    )
    for note in frame.attrs.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    app.command("features")(features)
