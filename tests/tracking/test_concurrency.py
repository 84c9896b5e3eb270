"""Two processes logging to one brand-new SQLite store at once leave it whole and consistent."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from riskcohort.tracking import registry
from tests.tracking.tracking_data import run_copy

SCRIPT = (
    "import sys; from riskcohort.tracking import log_iteration; "
    "print(log_iteration(sys.argv[1], tracking_uri=sys.argv[2]))"
)


@pytest.mark.slow
def test_two_processes_log_to_one_store(tmp_path, fresh_store_uri, monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    folders = [run_copy(tmp_path / f"run{i}", seed=i) for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(f), fresh_store_uri],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in folders]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
    run_ids = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(run_ids) == 2
    db = fresh_store_uri.removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    c = MlflowClient(tracking_uri=fresh_store_uri, registry_uri=fresh_store_uri)
    versions = c.search_model_versions(f"name='{registry.MODEL_NAME}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert {v.run_id for v in versions} == run_ids
    exp = c.get_experiment_by_name("exp-test").experiment_id
    runs = c.search_runs([exp], max_results=100)
    assert len(runs) == 2 * 7 and {r.info.status for r in runs} == {"FINISHED"}
    aliases = c.get_registered_model(registry.MODEL_NAME).aliases
    assert aliases["champion"] in (1, 2) and aliases["challenger"] in (1, 2)
