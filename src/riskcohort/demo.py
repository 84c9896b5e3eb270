"""``riskcohort demo``: the whole main job on the synthetic force, end to end."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the demo command."""
