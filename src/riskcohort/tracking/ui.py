"""Run the MLflow UI as a child process group, and never leave it behind.

Why: ``mlflow ui`` starts a server that starts workers; stopping ``riskcohort ui`` with SIGTERM
(a service manager, ``kill``) used to stop only the parent, leaving the server and its workers
holding the port and the SQLite store. The server is started in a session (process group) of its
own, and whatever ends the command - SIGTERM, Ctrl-C, the server exiting - the whole group is
sent SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time

logger = logging.getLogger(__name__)

GRACE_S = 10.0


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused id owned by someone else
        return False
    return True


def stop_group(proc: subprocess.Popen, grace: float = GRACE_S) -> None:
    """SIGTERM the child's process group, wait up to ``grace`` s, then SIGKILL what is left."""
    pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not _alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.2)
            if not _alive(pgid):
                break
            time.sleep(0.1)
    if proc.poll() is None:
        proc.wait()


def serve(cmd: list[str], env: dict | None = None) -> int:
    """Run ``cmd`` in its own process group until it exits or this process is stopped; the
    group is always stopped on the way out. Returns the server's exit code."""
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None):  # nobody turns SIGTERM into an exception: we do
        signal.signal(signal.SIGTERM, _exit_on_term)
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        return proc.wait()
    finally:
        stop_group(proc)
        if previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit_on_term(signum, _frame) -> None:
    raise SystemExit(128 + signum)
