"""CLI commands of the app stage (registered on the main app by riskcohort.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
