"""CLI commands of the tracking stage: retrain, score, compare, diff, ui.

Every command takes ``--tracking-uri`` (else ``MLFLOW_TRACKING_URI``, else the SQLite store in
``--work``). MLflow is imported inside the command bodies so ``riskcohort --help`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

URI_HELP = "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite in --work)."
WORK_HELP = "Work folder holding mlflow.db and mlartifacts/ (default: $RISKCOHORT_WORK or ./work)."


def _guard(tracking_uri):
    from riskcohort.tracking.store import friendly_errors

    return friendly_errors(tracking_uri)


def _console():
    from rich.console import Console

    return Console(width=None if Console().is_terminal else 160)


def _retrain_state(res, dry_run: bool) -> str:
    """The champion's state after a retrain, in words (an approval is a person's act)."""
    return ("promoted to champion" if res.promoted else
            f"champion unchanged, version {res.decision.challenger_version} awaiting "
            "approval (riskcohort approve)" if res.decision.status == "awaiting approval"
            and not dry_run else "champion unchanged")


def track(
    run_dir: Path = typer.Argument(..., help="Run folder to log (riskcohort run --out)."),
    alias: str = typer.Option("challenger", "--alias", help="Registry alias to set."),
    no_register: bool = typer.Option(False, "--no-register", help="Log only."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
) -> None:
    """Log a run folder to MLflow (model + baseline runs) and register its model."""
    from riskcohort.tracking.iteration import log_iteration

    with _guard(tracking_uri):
        run_id = log_iteration(run_dir, tracking_uri=tracking_uri, work=work,
                               register=not no_register, alias=alias)
    _console().print(f"logged {run_dir} as MLflow run {run_id}")


def retrain(
    experiment: Path = typer.Argument(..., help="Experiment TOML."),
    data: Path = typer.Option(..., "--data", help="New dataset folder (contract format)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the decision, change nothing "
                                 "in the registry."),
    as_of: str | None = typer.Option(None, "--as-of", help="Backtest as-of (default: the "
                                     "latest date with a full outcome window)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder of the challenger."),
    ece_max: float = typer.Option(0.01, "--ece-max", help="Promotion: ECE must be below."),
    slope_min: float = typer.Option(0.8, "--slope-min", help="Promotion: slope at least."),
    slope_max: float = typer.Option(1.2, "--slope-max", help="Promotion: slope at most."),
    max_quarantine: float | None = typer.Option(
        None, "--max-quarantine", help="Stop when more than this share of a required "
        "table is quarantined (default: [data] max_quarantine, else 0.01 = 1%)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out "
                                   "whole (never the champion's run folder)."),
    psi_max: float = typer.Option(0.25, "--psi-max", help="Promotion: largest input PSI "
                                  "(champion's snapshot vs the challenger's) must be below."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="DEMO ONLY: approve "
                                      "when the evidence passes, recorded as auto-approved "
                                      "(a force approves with `riskcohort approve`)."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
) -> None:
    """Train a challenger on new data; it becomes champion only when approved."""
    from riskcohort import preflight
    from riskcohort.tracking.promotion import markdown
    from riskcohort.tracking.store import work_dir
    from riskcohort.workflow import retrain as run_retrain

    console = _console()
    preflight.check_job(out or work_dir(work) / "runs" / "retrain", data,
                        tracking_uri=tracking_uri, work=work)  # before heavy work
    with _guard(tracking_uri):
        res = run_retrain(experiment, data, out_dir=out, as_of=as_of, dry_run=dry_run,
                          tracking_uri=tracking_uri, work=work, ece_max=ece_max,
                          slope_range=(slope_min, slope_max),
                          max_quarantine=max_quarantine, overwrite=overwrite,
                          auto_approve=auto_approve, psi_max=psi_max)
    console.print(markdown(res.decision, dry_run), markup=False)
    console.print(f"challenger run {res.run_id} ({res.run_dir}); {_retrain_state(res, dry_run)}")


def score(
    model: str = typer.Option("champion", "--model", help="Alias (champion/challenger) or "
                              "version number of da-threat-to-life."),
    data: Path = typer.Option(..., "--data", help="Dataset folder to score."),
    as_of: str = typer.Option(..., "--as-of", help="Score as of YYYY-MM-DD."),
    out: Path = typer.Option(..., "--out", help="Run folder to write."),
    max_quarantine: float | None = typer.Option(
        None, "--max-quarantine", help="Stop when more than this share of a required "
        "table is quarantined (default: 0.01 = 1%)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out "
                                   "whole (never the champion's run folder)."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
    engine: str = typer.Option("duckdb", "--engine", help="Where features are built and "
                               "scored: duckdb (this process) or spark (Apache Spark)."),
    spark_master: str = typer.Option("local[2]", "--spark-master", help="Spark master for "
                                     "--engine spark: local[N], spark://HOST:7077, yarn..."),
) -> None:
    """Score a dataset with a registered model, without training (writes a run folder)."""
    from riskcohort import preflight
    from riskcohort.runfolder import open_run
    from riskcohort.workflow import score_registered

    preflight.check_job(out, data, tracking_uri=tracking_uri, work=work, track=False)
    from riskcohort.spark.session import use_engine

    with _guard(tracking_uri), use_engine(engine, spark_master):
        folder = score_registered(model, data, as_of, out, tracking_uri=tracking_uri,
                                  work=work, max_quarantine=max_quarantine,
                                  overwrite=overwrite)
    scores = open_run(folder).scores
    _console().print(f"scored {len(scores)} people with {model}; cohort of "
                     f"{int(scores['in_cohort'].sum())} -> {folder}")


def compare(
    runs: list[str] = typer.Argument(None, help="Run ids or run folders (default: all)."),
    experiment: str | None = typer.Option(None, "--experiment", help="Experiment name."),
    k: int | None = typer.Option(None, "--k", help="Cohort size for @k metrics."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
) -> None:
    """Table of iterations and their baselines: metrics with 95% intervals."""
    from riskcohort.tracking.compare import compare_table

    with _guard(tracking_uri):
        table = compare_table(runs or [], experiment, tracking_uri, work, k)
    _console().print(table)


def diff(
    run_a: str = typer.Argument(..., help="Earlier iteration: run id or run folder."),
    run_b: str = typer.Argument(..., help="Later iteration: run id or run folder."),
    limit: int = typer.Option(20, "--limit", help="Rows shown per section."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
) -> None:
    """Cohort change: who entered (with top reasons), who left, who stayed (rank change)."""
    from riskcohort.tracking.compare import cohort_diff
    from riskcohort.tracking.render import print_diff

    with _guard(tracking_uri):
        change = cohort_diff(run_a, run_b, tracking_uri, work)
    print_diff(change, _console(), limit)


def ui(
    port: int = typer.Option(5000, "--port", help="Port on 127.0.0.1."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    work: Path | None = typer.Option(None, "--work", help=WORK_HELP),
) -> None:
    """Start the MLflow UI on the local store (loopback only)."""
    import sys

    from riskcohort.tracking import store

    uri = store.resolve_tracking_uri(tracking_uri, work)
    store.client(uri)  # create/migrate the store first, under the lock
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
           "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    root = store.artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    _console().print(f"MLflow UI on http://127.0.0.1:{port} ({uri}); Ctrl-C to stop")
    from riskcohort.tracking.ui import serve

    raise typer.Exit(serve(cmd, env=os.environ.copy()))  # own process group, always stopped


#: The stage's commands in the order ``--help`` lists them (each named after its function).
COMMANDS = (track, retrain, score, compare, diff, ui)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app. The commands are module-level functions so
    each can be read (and tested) alone; Typer names each after its function."""
    for command in COMMANDS:
        app.command()(command)
