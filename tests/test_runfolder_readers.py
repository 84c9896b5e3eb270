"""Every reader of a run folder (explain, report, serve, compare/diff, track, score's output)
refuses an incomplete or modified folder with one clear message (exit 2, no traceback)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from riskcohort.runfolder import layout as L
from tests.tracking.tracking_data import run_copy


def _tampered(run):
    (run / L.SCORES).write_text((run / L.SCORES).read_text().replace("P00001", "P99999"))
    return "scores.csv differs from its sha256"


def _incomplete(run):
    manifest = json.loads((run / L.MANIFEST).read_text())
    manifest["complete"] = False
    (run / L.MANIFEST).write_text(json.dumps(manifest))
    return "complete: true"


def _old_schema(run):
    manifest = json.loads((run / L.MANIFEST).read_text())
    del manifest["schema_version"]
    (run / L.MANIFEST).write_text(json.dumps(manifest))
    return r"schema version 1 \(unversioned\)"


READERS = {
    "explain": lambda run, tmp: ["explain", "P00001", "--run", str(run), "--no-evidence"],
    "explain-run": lambda run, tmp: ["explain-run", "--run", str(run)],
    "report": lambda run, tmp: ["report", str(run), "--out", str(tmp / "r.html"), "--n-boot",
                                "20"],
    "serve": lambda run, tmp: ["serve", "--run", str(run), "--db", str(tmp / "app.db")],
    "diff": lambda run, tmp: ["diff", str(run), str(run)],
    "track": lambda run, tmp: ["track", str(run), "--tracking-uri",
                               f"sqlite:///{tmp / 'mlflow.db'}"],
}


@pytest.mark.parametrize("fault", [_tampered, _incomplete, _old_schema])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_reader_refuses_unverifiable_folder(reader, fault, tmp_path):
    import re

    from riskcohort.cli import app

    run = run_copy(tmp_path / "run")
    expected = fault(run)
    res = CliRunner().invoke(app, READERS[reader](run, tmp_path))
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert res.exit_code == 2, (res.exit_code, out[-2000:])
    assert re.search(expected, " ".join(out.split())), out[-2000:]
    assert "Traceback" not in out
    assert not (tmp_path / "r.html").exists()
