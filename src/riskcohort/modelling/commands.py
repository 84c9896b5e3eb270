"""CLI commands ``run`` and ``backtest`` (registered by riskcohort.cli).

Command wiring sits on top of the stages: the jobs come from :mod:`riskcohort.workflow`.
Heavy imports (pandas, LightGBM) happen inside the command bodies so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    experiment: Path = typer.Argument(..., help="Experiment TOML (experiments/*.toml)."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (overrides file)."),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD; default: the day "
                                     "after the latest record (score now, no backtest)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder to write."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking "
                                            "URI (default: SQLite in the work folder)."),
    work: Path | None = typer.Option(None, "--work", help="Work folder of the default "
                                     "MLflow store (default: $RISKCOHORT_WORK or ./work)."),
    max_quarantine: float | None = typer.Option(
        None, "--max-quarantine", help="Stop when more than this share of a required "
        "table is quarantined (default: [data] max_quarantine, else 0.01 = 1%)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out "
                                   "whole (never the champion's run folder)."),
    engine: str = typer.Option("duckdb", "--engine", help="Where features are built and "
                               "scored: duckdb (this process) or spark (Apache Spark)."),
    spark_master: str = typer.Option("local[2]", "--spark-master", help="Spark master for "
                                     "--engine spark: local[N], spark://HOST:7077, yarn..."),
) -> None:
    """Validate, train as of a date, score, explain, and record the iteration in MLflow."""
    from rich.console import Console

    from riskcohort import preflight
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.report import print_run
    from riskcohort.workflow import run_and_track

    console = Console(width=None if Console().is_terminal else 180)
    cfg = load_experiment(experiment, data=data, as_of=as_of, out=out)
    preflight.check_job(cfg.out_dir or Path("runs") / cfg.name, cfg.data_dir,
                        tracking_uri=tracking_uri, work=work)  # before heavy work
    from riskcohort.spark.session import use_engine

    with use_engine(engine, spark_master):
        res, run_id = run_and_track(cfg, tracking_uri=tracking_uri, work=work,
                                    max_quarantine=max_quarantine, overwrite=overwrite)
    print_run(res, console)
    console.print(f"MLflow run {run_id}; run folder {res.out_dir}")


def backtest(
    experiment: Path = typer.Argument(..., help="Experiment TOML."),
    start: str = typer.Option(..., "--from", help="First as-of date YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last as-of date YYYY-MM-DD."),
    every: int | None = typer.Option(None, "--every", help="Months between as-of dates."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (overrides file)."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the run folders."),
    max_quarantine: float | None = typer.Option(
        None, "--max-quarantine", help="Stop when more than this share of a required "
        "table is quarantined (default: [data] max_quarantine, else 0.01 = 1%)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out "
                                   "whole (never the champion's run folder)."),
) -> None:
    """Retrain and evaluate at several as-of dates (each sees only what was known then)."""
    from rich.console import Console

    from riskcohort import preflight
    from riskcohort.modelling.config import load_experiment, parse_date
    from riskcohort.modelling.report import print_run, stability_table
    from riskcohort.runfolder import read_backtest
    from riskcohort.workflow import backtest as run_backtest
    from riskcohort.workflow import backtest_dates

    console = Console(width=None if Console().is_terminal else 180)
    cfg = load_experiment(experiment, data=data, out=out)
    first, last = parse_date(start, "option --from"), parse_date(end, "option --to")
    preflight.check_job((cfg.out_dir or Path("runs") / cfg.name) / "as_of", cfg.data_dir,
                        track=False, runs=len(backtest_dates(
                            first, last, every or cfg.backtest_every_months)))
    results = run_backtest(cfg, first, last, every,
                           max_quarantine=max_quarantine, overwrite=overwrite)
    for res in results:
        print_run(res, console)
    first_dir = results[0].out_dir
    assert first_dir is not None  # set by the job once each run folder is published
    summary = read_backtest(first_dir.parent)
    console.print(stability_table(results, summary.pooled, cfg.k))


#: The stage's commands in the order ``--help`` lists them (each named after its function).
COMMANDS = (run, backtest)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``backtest`` to the main app. The commands are module-level functions so each
    can be read alone; Typer names each after its function."""
    for command in COMMANDS:
        app.command()(command)
