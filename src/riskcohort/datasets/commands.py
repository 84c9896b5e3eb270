"""CLI: ``riskcohort data update BASE_DIR NEW_EXTRACT_DIR --out NEW_DIR``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the main app."""
    data_app = typer.Typer(help="Dataset versions: build a new version from a base and an "
                           "extract, with what changed.", no_args_is_help=True)

    @data_app.command("update")
    def update(
        base_dir: Path = typer.Argument(..., help="Current dataset version (contract format)."),
        extract_dir: Path = typer.Argument(..., help="New extract: changed/new rows of any "
                                           "tables, optional _deletions.csv (table,id)."),
        out: Path = typer.Option(..., "--out", help="New dataset version folder (must not "
                                 "exist or be empty)."),
        experiment: Path | None = typer.Option(None, "--experiment", help="Experiment whose "
                                               "training labels are compared (default: "
                                               "experiments/iteration-3.toml)."),
    ) -> None:
        """Build a new dataset version; write changes.json, changes.md and dataset.json."""
        from rich.console import Console

        from riskcohort.datasets.update import update_dataset

        console = Console(stderr=True)
        res = update_dataset(base_dir, extract_dir, out, experiment=experiment,
                             log=lambda m: console.log(m))
        counts = res.changes["counts"]
        summary = "; ".join(f"{n}: +{c['added']} ~{c['replaced']} -{c['removed']}"
                            for n, c in counts.items() if any(c.values()))
        typer.echo(f"new dataset version {res.out_dir} (fingerprint {res.fingerprint[:12]}, "
                   f"base {res.base_fingerprint[:12]})")
        typer.echo(f"rows (+added ~replaced -removed): {summary or 'none'}")
        typer.echo(f"{len(res.changes['reclassified'])} reclassified fields, "
                   f"{len(res.changes['label_flips'])} training labels flip; see "
                   f"{res.out_dir / 'changes.md'}")

    app.add_typer(data_app, name="data")
