"""`riskcohort ui` stopped with SIGTERM leaves no MLflow server or worker behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_sigterm_stops_the_whole_server_group(tmp_path, template_db):
    import shutil

    (tmp_path / "work").mkdir()
    shutil.copy(template_db, tmp_path / "work" / "mlflow.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    exe = [sys.executable, "-c", "from riskcohort.cli import main; main()"]
    proc = subprocess.Popen([*exe, "ui", "--port", str(port), "--work", str(tmp_path / "work")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        children: list[psutil.Process] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the server and its workers to be up
            children = _descendants(proc.pid)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0 and len(children) >= 2:
                    break
            time.sleep(0.5)
        assert children, "the MLflow server never started"
        time.sleep(1.0)
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, f"left behind: {[p.pid for p in alive]}"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # the port is free again
    finally:
        for p in _descendants(proc.pid):
            p.kill()
        if proc.poll() is None:
            proc.kill()
