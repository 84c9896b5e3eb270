"""The ``riskcohort`` command line: one Typer app, commands registered by each stage.

Each stage owns a ``commands.py`` with ``register(app)``; this module only wires them and turns
a :class:`~riskcohort.errors.UserError` into one clear message and an exit code (no traceback for
a user mistake). Heavy libraries are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import importlib
import sys

import typer
from rich.console import Console

from riskcohort import _offline  # noqa: F401
from riskcohort.errors import UserError

app = typer.Typer(
    name="riskcohort",
    help="Rank domestic-abuse perpetrators by risk of serious harm; explain, audit and track it. "
    "Supports a human decision; never makes one.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Data flows one way: contract -> features -> modelling -> explain -> tracking -> governance/app.
COMMAND_MODULES = (
    "riskcohort.contract.commands",
    "riskcohort.simulate.commands",
    "riskcohort.features.commands",
    "riskcohort.modelling.commands",
    "riskcohort.explain.commands",
    "riskcohort.datasets.commands",
    "riskcohort.tracking.commands",
    "riskcohort.tracking.shadow_commands",
    "riskcohort.governance.commands",
    "riskcohort.app.commands",
    "riskcohort.tabular.commands",
    "riskcohort.demo",
)



@app.command()
def version() -> None:
    """Print the riskcohort version."""
    from riskcohort import __version__

    typer.echo(__version__)


err_console = Console(stderr=True)


def report_user_error(exc: UserError) -> None:
    """Print a user mistake as one message, no traceback."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)


def _friendly(func):
    """Turn a UserError raised by a command into its message and exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            report_user_error(exc)
            raise typer.Exit(exc.exit_code) from None

    wrapper.friendly = True
    return wrapper


def _wrap_commands(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.callback is not None and not getattr(command.callback, "friendly", False):
            command.callback = _friendly(command.callback)
    for group in typer_app.registered_groups:
        _wrap_commands(group.typer_instance)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)
_wrap_commands(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except UserError as exc:  # raised outside a command (e.g. while parsing options)
        report_user_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
