"""Experiment files: relative paths, overrides, defaults and clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from riskcohort.errors import UserError
from riskcohort.modelling.config import load_experiment

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path, text, name="exp.toml"):
    p = tmp_path / "experiments" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_relative_paths_resolve_against_the_file(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    spec = '[fixed]\nlearning_rate = 0.1\n[search]\nn_trials = 1\n'
    (tmp_path / "models/m.toml").write_text(spec)
    p = write(tmp_path, '[experiment]\nname = "x"\ndata = "../data/force"\nout = "../runs/x"\n'
              '[model]\nspec = "../models/m.toml"\n')
    monkeypatch.chdir("/")
    cfg = load_experiment(p)
    assert cfg.data_dir == tmp_path / "data/force"
    assert cfg.out_dir == tmp_path / "runs/x"
    assert cfg.model_spec["fixed"]["learning_rate"] == 0.1
    assert cfg.as_of is None and cfg.k == 100 and cfg.ks == (50, 100, 200)


def test_command_line_overrides(tmp_path):
    p = write(tmp_path, '[experiment]\ndata = "d"\nas_of = 2024-01-01\n')
    cfg = load_experiment(p, data=tmp_path / "other", as_of="2025-02-01", out=tmp_path / "o")
    assert cfg.data_dir == (tmp_path / "other").resolve()
    assert cfg.as_of == dt.date(2025, 2, 1)
    assert load_experiment(p).as_of == dt.date(2024, 1, 1)


@pytest.mark.parametrize("text, match", [
    ('[experiment]\nname = "x"\n', "data"),
    ('[experiment]\ndata = "d"\n[outcome]\nserious_offences = ["murderr"]\n', "murderr"),
    ('[experiment]\ndata = "d"\n[model]\ncalibration = "beta"\n', "calibration"),
    ('[experiment]\ndata = "d"\nas_of = "01/02/2024"\n', "YYYY-MM-DD"),
    ('[experiment]\ndata = "d"\n[trainin]\n', "unknown"),
    ('[experiment\n', "TOML"),
])
def test_bad_files_raise_user_error(tmp_path, text, match):
    with pytest.raises(UserError, match=match):
        load_experiment(write(tmp_path, text))


def test_shipped_experiments_load():
    for name in ("iteration-3.toml", "iteration-3-small.toml"):
        cfg = load_experiment(REPO / "experiments" / name)
        assert cfg.model_spec_path == REPO / "models/lightgbm.toml"
        assert cfg.data_dir.parent == REPO / "work"
        assert "num_leaves" in cfg.model_spec["search"]
