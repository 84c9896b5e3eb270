"""Any tracking URI: a real ``mlflow server`` on loopback, and a clear error when none answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from mlflow import MlflowClient

from riskcohort.errors import UserError
from riskcohort.tracking import registry, store
from riskcohort.tracking.iteration import log_iteration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(store_uri, tmp_path):
    """A real MLflow tracking server on 127.0.0.1 backed by a tmp SQLite store."""
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri,
           "--artifacts-destination", str(tmp_path / "served"), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded CI box starts it slowly
    try:
        while True:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_log_iteration_over_http(run_folder, mlflow_server, tmp_path):
    run_id = log_iteration(run_folder, tracking_uri=mlflow_server)
    c = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    run = c.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["kind"] == "model"
    assert "recall_at_100_lo" in run.data.metrics
    assert "scores.csv" in {a.path for a in c.list_artifacts(run_id)}
    aliases = c.get_registered_model(registry.MODEL_NAME).aliases
    assert {k: int(v) for k, v in aliases.items()} == {"champion": 1, "challenger": 1}
    reg = registry.load_registered("champion", tracking_uri=mlflow_server, dst=tmp_path / "dl")
    assert (reg.model_dir / "model.txt").exists() and reg.run_id == run_id


def test_unreachable_server_is_a_quick_user_error():
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(UserError, match="not reachable"):
        store.client(url)
    assert time.monotonic() - start < 15


def test_cli_shows_one_message_without_traceback(monkeypatch, capsys):
    from riskcohort import cli

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(sys, "argv", ["riskcohort", "compare", "--tracking-uri", url])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "not reachable" in err and "Traceback" not in err


def test_env_tracking_uri_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert store.resolve_tracking_uri(None, tmp_path) == "http://127.0.0.1:1"
    assert store.resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert store.resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path}/mlflow.db"


def test_ui_starts_mlflow_on_loopback_with_the_local_store(monkeypatch, store_uri):
    from typer.testing import CliRunner

    from riskcohort.cli import app

    calls = []
    monkeypatch.setattr("riskcohort.tracking.ui.serve",
                        lambda cmd, **kw: calls.append(cmd) or 0)
    res = CliRunner().invoke(app, ["ui", "--port", "5123", "--tracking-uri", store_uri])
    assert res.exit_code == 0, res.output
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "mlflow", "ui"]
    assert cmd[cmd.index("--backend-store-uri") + 1] == store_uri
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "5123"


def test_mlflow_failure_inside_a_command_is_one_message():
    from mlflow.exceptions import MlflowException

    with pytest.raises(UserError, match="tracking store http://x: boom") as exc, \
            store.friendly_errors("http://x"):
        raise MlflowException("boom")
    assert exc.value.exit_code == 1
