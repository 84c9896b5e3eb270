"""Preflight: a read-only or too small folder is refused in seconds, before any heavy work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskcohort import preflight
from riskcohort.errors import UserError
from tests.faults.mounts import read_only, tmpfs

ROOT = Path(__file__).resolve().parents[2]


def _data(folder: Path, size: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "incidents.csv").write_bytes(b"x" * size)
    return folder


def test_estimate_grows_with_the_data(tmp_path):
    small, big = _data(tmp_path / "a", 1000), _data(tmp_path / "b", 100_000)
    assert preflight.expected_run_bytes(big) > preflight.expected_run_bytes(small)
    assert preflight.expected_run_bytes(small, runs=3) == 3 * preflight.expected_run_bytes(small)


def test_no_room_is_refused_naming_folder_and_numbers(tmp_path):
    data = _data(tmp_path / "data", 200_000)
    with tmpfs(tmp_path / "disk", "2m") as disk, pytest.raises(UserError) as info:
        preflight.check_job(disk / "run", data, track=False)
    msg = str(info.value)
    assert "free_space" in msg and str(disk) in msg and "MB" in msg
    assert info.value.exit_code == 1


def test_read_only_out_and_store_are_refused(tmp_path):
    data = _data(tmp_path / "data", 100)
    with tmpfs(tmp_path / "ro", "1m") as ro:
        read_only(ro)
        with pytest.raises(UserError, match=r"output folder .*EROFS"):
            preflight.check_job(ro / "run", data, track=False)
        with pytest.raises(UserError, match=r"tracking store .*EROFS"):
            preflight.check_job(tmp_path / "out" / "run", data,
                                tracking_uri=f"sqlite:///{ro / 'mlflow.db'}")


def test_run_command_stops_before_heavy_work(tmp_path):
    from riskcohort.cli import app

    data = _data(tmp_path / "data", 100)
    with tmpfs(tmp_path / "ro", "1m") as ro:
        read_only(ro)
        res = CliRunner().invoke(app, ["run", str(ROOT / "experiments" / "iteration-3-small.toml"),
                                       "--data", str(data), "--out", str(ro / "run"),
                                       "--work", str(tmp_path / "work")])
    assert res.exit_code == 1, res.output
    assert "EROFS" in res.output and str(ro) in res.output and "Traceback" not in res.output
    assert not (tmp_path / "work").exists()  # refused before the tracking store was touched
