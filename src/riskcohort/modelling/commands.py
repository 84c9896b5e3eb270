"""CLI commands of the modelling stage: ``run`` and ``backtest`` (registered by riskcohort.cli).

Heavy imports (pandas, LightGBM) happen inside the command bodies so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``backtest`` to the main app."""

    @app.command()
    def run(
        experiment: Path = typer.Argument(..., help="Experiment TOML (experiments/*.toml)."),
        data: Path | None = typer.Option(None, "--data", help="Dataset folder (overrides file)."),
        as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD; default: the day "
                                         "after the latest record (score now, no backtest)."),
        out: Path | None = typer.Option(None, "--out", help="Run folder to write."),
    ) -> None:
        """Train as of a date, score the population, write the run folder."""
        from rich.console import Console

        from riskcohort.modelling.config import load_experiment
        from riskcohort.modelling.report import print_run
        from riskcohort.workflow import run_experiment

        console = Console(width=None if Console().is_terminal else 180)
        cfg = load_experiment(experiment, data=data, as_of=as_of, out=out)
        res = run_experiment(cfg, log=lambda m: console.log(m))
        print_run(res, console)

    @app.command()
    def backtest(
        experiment: Path = typer.Argument(..., help="Experiment TOML."),
        start: str = typer.Option(..., "--from", help="First as-of date YYYY-MM-DD."),
        end: str = typer.Option(..., "--to", help="Last as-of date YYYY-MM-DD."),
        every: int | None = typer.Option(None, "--every", help="Months between as-of dates."),
        data: Path | None = typer.Option(None, "--data", help="Dataset folder (overrides file)."),
        out: Path | None = typer.Option(None, "--out", help="Folder for the run folders."),
    ) -> None:
        """Retrain and evaluate at several as-of dates (each sees only what was known then)."""
        from rich.console import Console

        from riskcohort.modelling.config import load_experiment, parse_date
        from riskcohort.modelling.report import print_run
        from riskcohort.workflow import backtest as run_backtest

        console = Console(width=None if Console().is_terminal else 180)
        cfg = load_experiment(experiment, data=data, out=out)
        results = run_backtest(cfg, parse_date(start, "option --from"),
                               parse_date(end, "option --to"), every,
                               log=lambda m: console.log(m))
        for res in results:
            print_run(res, console)
