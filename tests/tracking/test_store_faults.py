"""Runs left RUNNING by a killed process are marked FAILED by the next command; a read-only
store can still be read (no lock file, nothing created)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from riskcohort.tracking import store


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _running_run(c, pid: int, start: str = "") -> str:
    import socket

    exp = store.get_or_create_experiment(c, "faults")
    tags = {store.PID_TAG: str(pid), store.HOST_TAG: socket.gethostname(), store.START_TAG: start}
    return c.create_run(exp, tags=tags).info.run_id


def test_runs_of_a_dead_process_are_marked_failed(store_uri, monkeypatch):
    monkeypatch.setattr(store, "_reaped", set())
    c = store.client(store_uri)  # nothing to reap yet
    dead = _running_run(c, _dead_pid())
    alive = _running_run(c, os.getpid(), store.owner_tags()[store.START_TAG])
    other_tool = c.create_run(store.get_or_create_experiment(c, "faults")).info.run_id
    store._reaped.clear()
    c2 = store.client(store_uri)  # the next command
    assert c2.get_run(dead).info.status == "FAILED"
    assert "stopped before finishing" in c2.get_run(dead).data.tags[store.FAILURE_TAG]
    assert c2.get_run(alive).info.status == "RUNNING"
    assert c2.get_run(other_tool).info.status == "RUNNING"  # no pid tag: not ours to judge


def test_a_reused_pid_does_not_keep_a_dead_run_alive(store_uri, monkeypatch):
    monkeypatch.setattr(store, "_reaped", set())
    c = store.client(store_uri)
    reused = _running_run(c, os.getppid(), start="1")  # pid alive, but started at another time
    store._reaped.clear()
    assert store.reap_abandoned(c) == [reused]


def test_fail_own_runs_marks_this_process_runs(store_uri):
    c = store.client(store_uri)
    mine = _running_run(c, os.getpid(), store.owner_tags()[store.START_TAG])
    assert mine in store.fail_own_runs("interrupted by SIGTERM")
    assert c.get_run(mine).info.status == "FAILED"


@pytest.fixture
def ro_mount(tmp_path):
    """A small tmpfs we can remount read-only (root in a container that allows mount)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("read-only store test needs root and mount(8) to remount a tmpfs read-only")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs (container without "
                    "CAP_SYS_ADMIN): read-only store not tested here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


SETUP = """
import sys
from riskcohort.tracking import store
c = store.client(sys.argv[1])
run = c.create_run(store.get_or_create_experiment(c, "faults"))
c.set_terminated(run.info.run_id, "FINISHED")
print(run.info.run_id)
"""


def test_read_only_store_is_readable(ro_mount, template_db, monkeypatch):
    monkeypatch.setattr(store, "_reaped", set())
    monkeypatch.chdir(ro_mount)
    shutil.copy(template_db, ro_mount / "mlflow.db")
    uri = f"sqlite:///{ro_mount / 'mlflow.db'}"
    made = subprocess.run([sys.executable, "-c", SETUP, uri], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    run_id = made.stdout.split()[-1]
    before = sorted(p.name for p in ro_mount.iterdir())
    subprocess.run(["mount", "-o", "remount,ro", str(ro_mount)], check=True)
    assert not store.writable(uri)
    for readonly in (True, False):  # a writing command also opens it (and fails later, clearly)
        c = store.client(uri, readonly=readonly)
        assert c.get_run(run_id).info.status == "FINISHED"
    assert sorted(p.name for p in ro_mount.iterdir()) == before  # no lock file created
