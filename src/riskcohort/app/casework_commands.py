"""CLI of the casework: ``riskcohort interventions export`` (registered by app.commands)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

import riskcohort.app.alerts  # noqa: F401  (registers the sealed casework tables for audit verify)
import riskcohort.app.manual  # noqa: F401
from riskcohort.errors import UserError

DB_HELP = ("Database: sqlite:///path.db, postgresql+psycopg://user@host:port/db, or a file path "
           "(SQLite). Default: $RISKCOHORT_DB.")
KEY_HELP = ("Audit key file (kept outside the database). Default: $RISKCOHORT_AUDIT_KEY (the "
            "secret) or $RISKCOHORT_AUDIT_KEY_FILE, else <database file>.audit-key for SQLite.")


def _db(db: str | None) -> str:
    db = db or os.environ.get("RISKCOHORT_DB")
    if not db:
        raise UserError("--db: rule required (or set RISKCOHORT_DB), e.g. --db sqlite:///work/app.db")
    return db


def register(app: typer.Typer) -> None:
    """Add ``interventions export`` to the main app."""
    group = typer.Typer(help="Interventions recorded in the review app (contract v1.1).",
                        no_args_is_help=True)
    app.add_typer(group, name="interventions")

    @group.command("export")
    def export(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        out: Path = typer.Option(..., "--out", help="interventions.csv or .parquet, in the "
                                 "contract's format (put it in the next dataset folder)."),
        audit_key: Path = typer.Option(None, "--audit-key", help=KEY_HELP),
    ) -> None:
        """Write adoptions, referrals and plan tactics as contract `interventions` rows."""
        from riskcohort.app.db import open_db
        from riskcohort.app.interventions_export import export as write

        n = write(open_db(_db(db), audit_key, create_key=False), out)
        typer.echo(f"{n} interventions written to {out}")
