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


@pytest.mark.parametrize("text, match", [
    ('[experiment]\ndata = "d"\n[training]\nmax_snapshot = 12\n',
     r"\[training\] has unknown key 'max_snapshot' \(did you mean 'max_snapshots'\?\)"),
    ('[experiment]\ndata = "d"\n[trainin]\nmax_snapshots = 12\n',
     r"unknown section \[trainin\] \(did you mean 'training'\?\)"),
    ('[experiment]\ndata = "d"\n[training]\nk = 50\n',
     r"\[training\] has unknown key 'k' \('k' belongs in \[cohort\]\)"),
    ('[experiment]\ndata = "d"\nbogus_setting = 1\n', r"\[experiment\] has unknown key"),
    ('data = "d"\n', r"unknown section \[data\]|\[data\] must be a section"),
])
def test_unknown_sections_and_keys_name_file_section_key_and_nearest(tmp_path, text, match):
    p = write(tmp_path, text)
    with pytest.raises(UserError, match=match) as err:
        load_experiment(p)
    assert str(p) in str(err.value)


def test_unknown_model_spec_section_or_key(tmp_path):
    from riskcohort.modelling.config import load_model_spec

    path = tmp_path / "spec.toml"
    path.write_text('[fixed]\nobjective = "binary"\n[search]\nn_trials = 1\n[monotone]\n'
                    'use_catalog = true\n')
    with pytest.raises(UserError, match=r"\[monotone\].*'use_catalog'.*'use_catalogue'"):
        load_model_spec(path)
    path.write_text('[fixed]\nobjective = "binary"\n[search]\nn_trials = 1\n[selectoin]\n')
    with pytest.raises(UserError, match=r"spec.toml.*\[selectoin\].*'selection'"):
        load_model_spec(path)


def test_config_is_frozen_and_overrides_make_a_new_object(tmp_path):
    import dataclasses

    p = write(tmp_path, '[experiment]\ndata = "d"\n[data]\nmax_quarantine = 0.05\n'
              '[training]\nsnapshots = ["2022-02-01", "2022-01-01"]\n')
    cfg = load_experiment(p)
    assert cfg.max_quarantine == 0.05
    assert cfg.snapshots == (dt.date(2022, 1, 1), dt.date(2022, 2, 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.data_dir = tmp_path  # type: ignore[misc]
    new = cfg.with_overrides(as_of=dt.date(2024, 1, 1), k=50)
    assert (new.as_of, new.k) == (dt.date(2024, 1, 1), 50)
    assert (cfg.as_of, cfg.k) == (None, 100) and new is not cfg
    with pytest.raises(UserError, match="unknown setting 'max_snapshot'.*'max_snapshots'"):
        cfg.with_overrides(max_snapshot=3)
    assert cfg.as_dict()["snapshots"] == ["2022-01-01", "2022-02-01"]
