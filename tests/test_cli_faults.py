"""The CLI turns environment faults and interruptions into one line and the right exit code."""

from __future__ import annotations

import errno
import logging
import os
import signal

import typer
from typer.testing import CliRunner

from riskcohort import cli, interrupts


def _app(body) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def job() -> None:
        body()

    @app.command()
    def other() -> None:  # two commands: Typer keeps the command name on the line
        pass

    cli._wrap_commands(app)
    return app


def _invoke(body):
    return CliRunner().invoke(_app(body), ["job"])


def test_disk_full_is_one_line_with_path_and_errno():
    def body():
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/out/run/scores.csv")
        except OSError as exc:  # wrapped, as pyarrow/pandas do
            raise RuntimeError("write failed") from exc

    res = _invoke(body)
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "disk full: /out/run/scores.csv" in res.output and "ENOSPC" in res.output
    assert "nothing was published" in res.output


def test_read_only_folder_and_sqlite_wording():
    def body():
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), "/mnt/ro/out")

    res = _invoke(body)
    assert res.exit_code == 1 and "EROFS" in res.output and "/mnt/ro/out" in res.output

    def sqlite_full():
        raise RuntimeError("(sqlite3.OperationalError) database or disk is full")

    res = _invoke(sqlite_full)
    assert res.exit_code == 1 and "ENOSPC" in res.output and "Traceback" not in res.output


def test_a_bug_keeps_its_traceback():
    def body():
        raise ValueError("a bug")

    res = _invoke(body)
    assert res.exit_code == 1 and isinstance(res.exception, ValueError)


def test_ctrl_c_says_what_was_left_and_exits_130():
    def body():
        raise KeyboardInterrupt

    res = _invoke(body)
    assert res.exit_code == 130
    assert "interrupted (Ctrl-C)" in res.output and "nothing was published" in res.output


def test_sigterm_is_handled_and_exits_143(tmp_path, monkeypatch):
    monkeypatch.setattr(interrupts, "_published", [])

    def body():
        interrupts.note_published(tmp_path / "run")
        os.kill(os.getpid(), signal.SIGTERM)  # the installed handler raises Interrupted here
        raise AssertionError("SIGTERM did not stop the command")

    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        res = _invoke(body)
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert res.exit_code == 143, res.output
    assert "interrupted (SIGTERM)" in res.output
    assert f"run folder {tmp_path / 'run'} was published complete" in res.output


def _cli_handlers():
    return [h for h in logging.getLogger("riskcohort").handlers
            if getattr(h, "riskcohort_cli", False)]


def test_logging_configured_once_and_only_while_a_command_runs():
    seen = []

    def body():
        logging.getLogger("riskcohort.stage").info("stage progress")
        seen.append(len(_cli_handlers()))

    res = _invoke(body)
    assert res.exit_code == 0 and seen == [1]
    assert "stage progress" in res.output  # on stderr, through the Rich handler
    assert _cli_handlers() == []  # removed afterwards: a test process is left as it was
    added = cli.configure_logging()
    try:
        assert cli.configure_logging() is None and len(_cli_handlers()) == 1
    finally:
        logging.getLogger("riskcohort").removeHandler(added)


def test_path_found_when_the_library_gives_none(tmp_path):
    from riskcohort.errors import environment_message

    def write(path):
        raise OSError(errno.ENOSPC, "No space left on device")  # as Arrow raises it

    try:
        write(tmp_path / "scores.parquet")
    except OSError as exc:
        message = environment_message(exc)
    assert f"{tmp_path / 'scores.parquet'}: No space left" in message
