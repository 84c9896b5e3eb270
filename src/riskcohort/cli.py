"""The ``riskcohort`` command line: one Typer app, commands registered by each stage.

Each stage owns a ``commands.py`` with ``register(app)``; this module only wires them and turns
what can go wrong into one clear line and an exit code, never a traceback:

- a :class:`~riskcohort.errors.UserError` (a user mistake): its message, exit 2 (or its code);
- an environment fault (disk full, read-only folder, permission denied): the path and the
  errno, exit 1 (``errors.environment_message``);
- Ctrl-C or SIGTERM: what was interrupted and what state was left ("nothing was published"),
  MLflow runs the command opened marked FAILED, exit 130 / 143 (``riskcohort.interrupts``).

It also configures logging once: stages log with ``logging.getLogger(__name__)`` and a Rich
handler on stderr shows INFO and above (``RISKCOHORT_LOG_LEVEL`` changes the level).
Heavy libraries are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys

import typer
from rich.console import Console

from riskcohort import _offline, interrupts  # noqa: F401
from riskcohort.errors import UserError, environment_message

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
    "riskcohort.impact.commands",
    "riskcohort.explain.commands",
    "riskcohort.datasets.commands",
    "riskcohort.tracking.commands",
    "riskcohort.tracking.shadow_commands",
    "riskcohort.workflow.commands",
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
LOG_LEVEL_ENV = "RISKCOHORT_LOG_LEVEL"


def configure_logging(level: str | int | None = None) -> logging.Handler | None:
    """One Rich handler on the ``riskcohort`` logger (idempotent): stage messages on stderr,
    results on stdout, so ``riskcohort run ... > out.txt`` keeps the results clean. Returns
    the handler when this call added it (None when one was there already)."""
    from rich.logging import RichHandler

    logger = logging.getLogger("riskcohort")
    level = level or os.environ.get(LOG_LEVEL_ENV, "INFO")
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    if any(getattr(h, "riskcohort_cli", False) for h in logger.handlers):
        return None
    console = Console(stderr=True)
    if not console.is_terminal:  # a log file or a pipe: long lines, not 80 columns
        console = Console(stderr=True, width=160)
    handler = RichHandler(console=console, show_path=False, markup=False,
                          rich_tracebacks=False, log_time_format="[%X]")
    handler.riskcohort_cli = True  # type: ignore[attr-defined]  # marks our own handler
    logger.addHandler(handler)
    return handler


def report_user_error(exc: UserError) -> None:
    """Print a user mistake as one message, no traceback."""
    from rich.markup import escape  # a message may hold brackets: local[2], riskcohort[spark]

    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def _interrupted(command: str, signum: int) -> int:
    """Mark this command's MLflow runs FAILED; print what was left; the exit code."""
    import signal

    failed: list[str] = []
    if "mlflow" in sys.modules and "riskcohort.tracking.store" in sys.modules:
        from riskcohort.tracking.store import fail_own_runs

        failed = fail_own_runs(f"interrupted by {signal.Signals(signum).name}")
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    err_console.print(f"[yellow]interrupted ({name}):[/] riskcohort {command} stopped; "
                      f"{interrupts.state(failed)}", highlight=False, soft_wrap=True)
    return interrupts.EXIT_CODES.get(signum, 128 + signum)


def _friendly(func):
    """Turn what a command raises into one line and an exit code (see the module docstring)."""
    import signal

    command = func.__name__.replace("_", "-")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        handler = configure_logging()
        previous = interrupts.install()
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            report_user_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:  # before Typer turns it into a silent exit 130
            raise typer.Exit(_interrupted(command, signal.SIGINT)) from None
        except interrupts.Interrupted as exc:
            raise typer.Exit(_interrupted(command, exc.signum)) from None
        except Exception as exc:
            message = environment_message(exc)
            if message is None:
                raise
            err_console.print(f"[bold red]error:[/] {message}; riskcohort {command} stopped, "
                              f"{interrupts.state()}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        finally:
            interrupts.restore(previous)
            if handler is not None:  # the process (or a test runner) continues without it
                logging.getLogger("riskcohort").removeHandler(handler)

    wrapper.friendly = True
    return wrapper


def _wrap_commands(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.callback is not None and not getattr(command.callback, "friendly", False):
            command.callback = _friendly(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
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
        err_console.print("[yellow]interrupted (Ctrl-C)[/]; nothing was published")
        sys.exit(130)
    except interrupts.Interrupted as exc:
        err_console.print(f"[yellow]interrupted ({exc})[/]; nothing was published")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
