"""CLI of tabular mode: ``riskcohort tabular TABLE --id COL --label COL ...``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``tabular`` command."""

    @app.command()
    def tabular(
        table: Path = typer.Argument(..., help="Person-level table (.csv or .parquet)."),
        id: str = typer.Option(..., "--id", help="Identifier column (one row per person)."),
        label: str = typer.Option(..., "--label", help="Binary outcome column."),
        time: str = typer.Option(None, "--time", help="Time column: the latest rows are the test set."),
        baseline: str = typer.Option(None, "--baseline", help="Scores of existing tools (higher = riskier), comma-separated."),
        protected: str = typer.Option(None, "--protected", help="Protected columns: fairness audit only, comma-separated."),
        drop: str = typer.Option(None, "--drop", help="Columns to ignore, comma-separated."),
        increasing: str = typer.Option(None, "--increasing", help="Inputs whose higher values can only raise risk."),
        decreasing: str = typer.Option(None, "--decreasing", help="Inputs whose higher values can only lower risk."),
        test_fraction: float = typer.Option(0.3, "--test-fraction"),
        k: int = typer.Option(100, "--k", help="Cohort size for precision/recall@k and the audit."),
        seed: int = typer.Option(0, "--seed"),
        out: Path = typer.Option(Path("tabular-out"), "--out"),
        tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow tracking URI (default: SQLite beside --out)."),
        no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log an MLflow run."),
    ) -> None:
        """Rank from a person-level table a force already has, against the score it uses."""
        from riskcohort.tabular.report import print_summary
        from riskcohort.tabular.roles import Roles, split_list
        from riskcohort.tabular.run import run_tabular

        roles = Roles(
            id=id, label=label, time=time, baselines=split_list(baseline),
            protected=split_list(protected), drop=split_list(drop),
            increasing=split_list(increasing), decreasing=split_list(decreasing),
        )
        result = run_tabular(
            table, roles, out, test_fraction=test_fraction, seed=seed, k=k,
            tracking_uri=False if no_tracking else tracking_uri, log=typer.echo,
        )
        print_summary(result)
