"""Interruptions (Ctrl-C, SIGTERM) end a command with one line saying what was left behind.

Why: an operator stopping a long run (Ctrl-C, a scheduler's SIGTERM, a container stop) must know
whether anything was published. Python's default SIGTERM kills the process without running any
cleanup, so a staged run folder stayed on disk and an MLflow run stayed RUNNING forever. Here
SIGTERM raises :class:`Interrupted` (like Ctrl-C raises ``KeyboardInterrupt``): every ``with``
block unwinds (the run writer removes its staging folder, MLflow ends its run as FAILED), and
the CLI prints one line built from :func:`state` and exits 130 (SIGINT) or 143 (SIGTERM).

The ledger is deliberately tiny: the run writer calls :func:`note_published` when a folder is
renamed into place, so the message can say "run folder X was published" rather than guess.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger(__name__)

#: Exit codes by signal: 128 + the signal number (the shell convention).
EXIT_CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: Test hook: ``RISKCOHORT_FAULT_AT=<stage>[:<signal>]`` makes the process signal itself when
#: it reaches the named stage (see :func:`checkpoint`); the signal defaults to KILL.
FAULT_ENV = "RISKCOHORT_FAULT_AT"

_published: list[Path] = []
_stopping: list[int] = []


class Interrupted(BaseException):
    """Raised in the main thread by SIGTERM. A BaseException, like KeyboardInterrupt, so no
    ``except Exception`` in library code swallows it."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 128 + int(self.signum))


def _handler(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    if _stopping:  # a second signal while cleaning up: finish the cleanup, then stop
        logger.warning("already stopping (%s); cleaning up", signal.Signals(signum).name)
        return
    _stopping.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def install() -> dict:
    """Route SIGINT and SIGTERM to exceptions in the main thread; the previous handlers (for
    :func:`restore`). Outside the main thread nothing changes. A new command starts with an
    empty ledger: what an earlier command in the same process published is not this one's."""
    _stopping.clear()
    _published.clear()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, _handler)
        except ValueError:  # not the main thread (e.g. inside a test runner's worker)
            break
    return previous


def restore(previous: dict) -> None:
    """Put back the handlers :func:`install` replaced (a command run inside a test process)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def note_published(path: str | os.PathLike) -> None:
    """Record that a folder was published whole by this process (for the interruption line)."""
    _published.append(Path(path))


def published() -> list[Path]:
    """Folders this process published (in order)."""
    return list(_published)


def state(failed_runs: list[str] | None = None) -> str:
    """What an interruption left: published folders, MLflow runs marked FAILED."""
    parts = [("run folder " + ", ".join(str(p) for p in _published) + " was published complete")
             if _published else "nothing was published"]
    if failed_runs:
        parts.append("MLflow run " + ", ".join(failed_runs) + " marked FAILED")
    return "; ".join(parts)


def checkpoint(stage: str) -> None:
    """Fault-injection hook for tests: signal this process at ``stage`` when asked.

    ``RISKCOHORT_FAULT_AT=training`` kills the process (SIGKILL) at the start of training;
    ``RISKCOHORT_FAULT_AT=explain:TERM`` sends SIGTERM instead. Costs one environment lookup.
    """
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    name, _, sig = wanted.partition(":")
    if name != stage:
        return
    signum = getattr(signal, f"SIG{(sig or 'KILL').upper()}")
    logger.warning("fault injection: %s at stage %r", signal.Signals(signum).name, stage)
    os.kill(os.getpid(), signum)  # a Python handler runs right after this call returns
