"""CLI: ``riskcohort shadow freeze|evaluate`` (see :mod:`riskcohort.tracking.shadow`)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """``riskcohort shadow freeze|evaluate``: prospective validation on the force's own data."""
    shadow_app = typer.Typer(help="Shadow mode: freeze a cohort now (stamped), evaluate it once "
                             "its outcome window has passed.", no_args_is_help=True)

    @shadow_app.command("freeze")
    def freeze(
        run_dir: Path = typer.Argument(..., help="Run folder whose cohort to freeze."),
        out: Path = typer.Option(..., "--out", help="Frozen cohort file to write (JSON; never "
                                 "overwritten)."),
    ) -> None:
        """Stamp a cohort: ids, scores, ranks, run manifest, horizon, as-of, sha256, time."""
        from riskcohort.tracking.shadow import earliest_run_date
        from riskcohort.tracking.shadow import freeze as do_freeze

        payload = do_freeze(run_dir, out)
        typer.echo(f"froze {len(payload['cohort'])} scored people (top {payload['k']} = cohort) "
                   f"as of {payload['as_of']} at {payload['frozen_at']}; sha256 "
                   f"{payload['sha256']}; evaluate from {earliest_run_date(payload)} -> {out}")

    @shadow_app.command("evaluate")
    def evaluate(
        frozen: Path = typer.Argument(..., help="Frozen cohort (shadow freeze --out)."),
        data: Path = typer.Option(..., "--data", help="Dataset folder with the outcomes."),
        k: list[int] = typer.Option(None, "--k", help="Cohort sizes (default: the frozen k)."),
        out: Path | None = typer.Option(None, "--out", help="Write the result as JSON."),
    ) -> None:
        """Recall/precision at k of a frozen cohort, on outcomes recorded after the freeze."""
        from riskcohort.tracking.shadow import evaluate as do_evaluate
        from riskcohort.tracking.shadow import render

        result = do_evaluate(frozen, data, ks=k or None, out=out)
        typer.echo(render(result))
        if out is not None:
            typer.echo(f"result -> {out}")

    app.add_typer(shadow_app, name="shadow")
