"""The generator writes the contract exactly, deterministically, in both formats."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskcohort.contract import load_dataset
from riskcohort.contract.schema import BASELINE_SCORES, TABLES
from riskcohort.errors import UserError
from riskcohort.simulate import simulate

ARROW = {"id": "string", "enum": "string", "date": "date32[day]", "timestamp": "timestamp[ms]",
         "bool": "bool", "float": "double", "string": "string"}


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "summary.json"}


def test_same_seed_identical_files_other_seed_differs(tiny, tmp_path):
    folder, _ = tiny
    simulate(tmp_path / "a", preset="tiny", seed=3)
    simulate(tmp_path / "b", preset="tiny", seed=4)
    assert _digest(tmp_path / "a") == _digest(folder)
    assert _digest(tmp_path / "b")["incidents.parquet"] != _digest(folder)["incidents.parquet"]


def test_every_table_has_contract_columns_and_types(tiny):
    folder, summary = tiny
    assert not (folder / "interventions.parquet").exists()  # written only with a team
    for name, table in TABLES.items():
        if name == "interventions":
            continue
        schema = pq.read_schema(folder / f"{name}.parquet")
        assert tuple(schema.names) == table.names, name
        for col in table.columns:
            assert str(schema.field(col.name).type) == ARROW[col.type], (name, col.name)
        assert summary["rows"][name] > 0, name
    base = pd.read_csv(folder / "baseline_scores.csv", dtype=str)
    assert tuple(base.columns) == BASELINE_SCORES.names
    truth = pq.read_table(folder / "_truth" / "risk.parquet")
    assert truth.column_names == ["person_id", "month_start", "p_serious_harm"]


def test_clean_csv_passes_the_contract_validator_strictly(tmp_path):
    out = tmp_path / "csv"
    summary = simulate(out, preset="tiny", seed=1, fmt="csv", clean=True)
    assert summary["defects"] == {}
    for name in TABLES:
        if name == "interventions":
            continue
        header = (out / f"{name}.csv").read_text().splitlines()[0].split(",")
        assert tuple(header) == TABLES[name].names
    ds = load_dataset(out, strict=True)  # raises if any row is quarantined
    assert len(ds.tables["incidents"]) == summary["rows"]["incidents"]
    assert ds.baseline_scores is not None and len(ds.baseline_scores) > 0


def test_ids_are_strings_with_leading_zeros(tiny):
    folder, _ = tiny
    persons = pd.read_parquet(folder / "persons.parquet")
    assert persons["person_id"].str.match(r"^P\d{9}$").all()
    assert persons["person_id"].is_unique


def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="preset"):
        simulate(tmp_path, preset="huge")
    with pytest.raises(UserError, match="bias-group"):
        simulate(tmp_path, preset="tiny", bias_group="martian")
    with pytest.raises(UserError, match="format"):
        simulate(tmp_path, preset="tiny", fmt="xlsx")


def test_blocks_append_to_one_file_with_unique_ids(tmp_path, monkeypatch):
    """The national preset's path: several blocks appended to the same files."""
    from riskcohort.simulate import presets

    p = presets.Preset("blocks", entries_per_year=700, years=3, burn_in_years=1, block_size=1000)
    monkeypatch.setitem(presets.PRESETS, "blocks", p)
    summary = simulate(tmp_path, preset="blocks", seed=5, clean=True)
    assert summary["blocks"] == 3
    pf = pq.ParquetFile(tmp_path / "incidents.parquet")
    assert pf.num_row_groups == 3
    inc = pf.read().to_pandas()
    assert inc["incident_id"].is_unique
    assert inc["perpetrator_id"].str.slice(1, 3).nunique() == 3  # ids carry the block
    base = pd.read_csv(tmp_path / "baseline_scores.csv")
    assert (base.groupby("as_of")["in_cohort"].sum() == 100).all()
    top = base[base["in_cohort"]]
    rest = base[~base["in_cohort"]]
    for d, g in top.groupby("as_of"):
        assert g["score"].min() >= rest.loc[rest["as_of"] == d, "score"].max()
