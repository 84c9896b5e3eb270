"""Kill a real ``riskcohort run`` at named points and check what it leaves.

The process kills itself where ``RISKCOHORT_FAULT_AT=<stage>[:<signal>]`` says
(``riskcohort.interrupts.checkpoint``): before training (``validated``), during training,
during explanation and during MLflow logging. Invariants checked:

- nothing is published by an interrupted run, and a previous run folder stays intact;
- an MLflow run left RUNNING by a kill is FAILED after the next command;
- SIGINT/SIGTERM end with one line ("nothing was published"), exit 130/143, no traceback;
- readers refuse what a killed run left (its staging folder);
- a full tracking store is one line, and leaves no run RUNNING once the next command runs.

One tiny dataset (module fixture) and a deliberately quick experiment (``fast.toml``) keep the
cost to a handful of process starts; on an idle 2-core machine the module takes about a minute.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from riskcohort import runfolder
from riskcohort.errors import UserError
from tests.faults.mounts import tmpfs

pytestmark = pytest.mark.slow
FAST = Path(__file__).with_name("fast.toml")


def riskcohort(*args: str, fault: str | None = None, timeout: int = 900):
    """Run the CLI in a subprocess (optionally with a fault hook); the CompletedProcess."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "PYTEST_CURRENT_TEST", "RISKCOHORT_FAULT_AT")}
    if fault:
        env["RISKCOHORT_FAULT_AT"] = fault
    code = "import sys; from riskcohort.cli import main; sys.argv[0] = 'riskcohort'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A tiny synthetic force and a work folder shared by the tests of this module."""
    from riskcohort import simulate

    root = tmp_path_factory.mktemp("faults")
    simulate.simulate(root / "data", preset="tiny", seed=1)
    return root


@pytest.fixture(scope="module")
def logged_then_killed(site):
    """A run killed (SIGKILL) while logging to MLflow: its folder was already published."""
    out, work = site / "runs" / "a", site / "work"
    done = riskcohort("run", str(FAST), "--data", str(site / "data"), "--out", str(out),
                      "--work", str(work), fault="mlflow")
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    return done, out, work


def _statuses(work: Path) -> dict[str, str]:
    with sqlite3.connect(work / "mlflow.db") as con:
        return dict(con.execute("select run_uuid, status from runs").fetchall())


def _leftovers(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*"))


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.startswith(("interrupted (", "error:"))]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_kill_during_mlflow_logging_is_failed_by_the_next_command(logged_then_killed):
    done, out, work = logged_then_killed
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    runfolder.verify_run(out)  # published whole before any MLflow logging
    assert "RUNNING" in _statuses(work).values()  # what kill -9 leaves
    nxt = riskcohort("compare", "--work", str(work))  # any command opening the store
    assert nxt.returncode in (0, 2) and "Traceback" not in nxt.stderr, nxt.stderr[-3000:]
    assert "RUNNING" not in _statuses(work).values()
    assert "marked FAILED" in nxt.stderr and "no longer runs" in nxt.stderr


def test_kill_during_explanation_keeps_the_previous_folder(logged_then_killed):
    _, out, work = logged_then_killed
    before = (out / "run.json").read_bytes()
    done = riskcohort("run", str(FAST), "--data", str(out.parents[1] / "data"), "--out",
                      str(out), "--overwrite", "--work", str(work), fault="explain")
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert (out / "run.json").read_bytes() == before
    runfolder.verify_run(out)
    staged = _leftovers(out)
    assert staged, "a kill -9 leaves its staging folder (removed by the next writer)"
    for folder in staged:  # readers refuse what the killed run left
        with pytest.raises(UserError):
            runfolder.open_run(folder)


def test_signals_before_and_during_training_publish_nothing(site):
    out, work = site / "runs" / "b", site / "work-b"
    args = ("run", str(FAST), "--data", str(site / "data"), "--out", str(out), "--work", str(work))
    killed = riskcohort(*args, fault="validated")  # kill -9 before training
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not out.exists()
    ctrl_c = riskcohort(*args, fault="validated:INT")
    assert ctrl_c.returncode == 130, ctrl_c.stderr[-3000:]
    assert "interrupted (Ctrl-C)" in _one_line(ctrl_c.stderr)
    term = riskcohort(*args, fault="training:TERM")
    assert term.returncode == 143, term.stderr[-3000:]
    line = _one_line(term.stderr)
    assert "interrupted (SIGTERM)" in line and "nothing was published" in line
    assert not out.exists()
    assert _leftovers(out) == []  # its own staging removed, the killed one's recovered
    assert not (work / "mlflow.db").exists() or "RUNNING" not in _statuses(work).values()


def test_full_tracking_store_is_one_line_and_leaves_nothing_running(logged_then_killed, site):
    _, out, _ = logged_then_killed
    with tmpfs(site / "full-store", "3m") as store_dir:
        done = riskcohort("track", str(out), "--work", str(store_dir))
        assert done.returncode in (1, 2), done.stderr[-3000:]
        line = _one_line(done.stderr)
        assert "ENOSPC" in line or "disk full" in line.lower(), line
        subprocess.run(["mount", "-o", "remount,size=256m", str(store_dir)], check=True)
        nxt = riskcohort("compare", "--work", str(store_dir))
        assert nxt.returncode in (0, 2) and "Traceback" not in nxt.stderr, nxt.stderr[-3000:]
        if (store_dir / "mlflow.db").exists():
            assert "RUNNING" not in _statuses(store_dir).values()


def test_bulk_quarantine_stops_before_training(site, tmp_path):
    """A wrong export (every tenth incident dated dd/mm/YYYY) stops with exit 2, naming the
    table, rule, column and examples; nothing is trained, published or tracked."""
    import shutil

    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(site / "data", data, ignore=shutil.ignore_patterns("_truth"))
    incidents = pd.read_parquet(data / "incidents.parquet").astype("string")
    day = pd.to_datetime(incidents["recorded_at"].iloc[::10])
    incidents.loc[incidents.index[::10], "recorded_at"] = day.dt.strftime("%d/%m/%Y").to_numpy()
    (data / "incidents.parquet").unlink()
    incidents.to_csv(data / "incidents.csv", index=False)
    out, work = tmp_path / "run", tmp_path / "work"
    done = riskcohort("run", str(FAST), "--data", str(data), "--out", str(out), "--work", str(work))
    assert done.returncode == 2, done.stderr[-3000:]
    line = _one_line(done.stderr)
    assert "incidents" in line and "'recorded_at'" in line and "above the limit of 1.0%" in line
    assert "Nothing was trained" in line
    assert not out.exists() and _leftovers(out) == [] and not (work / "mlflow.db").exists()


def test_disk_full_while_writing_is_one_line(site, tmp_path):
    """``validate`` has no preflight: a report folder on a 1 MB disk fills up mid-write
    (quarantine files, Data Docs) and ends with one line naming the errno, no traceback."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        done = riskcohort("validate", str(site / "data"), "--out", str(disk / "report"))
        assert done.returncode in (1, 2), done.stderr[-3000:]
        line = _one_line(done.stderr)
        assert "ENOSPC" in line and str(disk) in line, line
