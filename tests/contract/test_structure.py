"""Structural problems stop with one UserError naming file, column, rule and examples."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskcohort.contract import load_dataset
from riskcohort.errors import UserError
from tests.contract.contract_data import write_dataset


def _error(data) -> str:
    with pytest.raises(UserError) as info:
        load_dataset(data)
    assert info.value.exit_code == 2
    return str(info.value)


def test_missing_required_table(tmp_path, tables):
    del tables["persons"]
    msg = _error(write_dataset(tmp_path / "d", tables))
    assert "persons.csv" in msg and "required_table" in msg and "incidents.csv" in msg


def test_missing_optional_table_is_fine(tmp_path, tables):
    for name in ("custody", "markers", "referrals", "interventions", "baseline_scores"):
        del tables[name]
    ds = load_dataset(write_dataset(tmp_path / "d", tables))
    assert sorted(ds.absent) == ["custody", "interventions", "markers", "referrals"]
    assert ds.baseline_scores is None


def test_missing_required_column(tmp_path, tables, fmt):
    for row in tables["incidents"]:
        del row["offence"]
        row["Offence"] = "gbh"
    msg = _error(write_dataset(tmp_path / "d", tables, fmt))
    assert f"incidents.{fmt}" in msg and "'offence'" in msg and "required_column" in msg
    assert "'Offence'" in msg  # the near miss is shown


def test_corrupt_parquet(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables, "parquet")
    (data / "orders.parquet").write_bytes(b"PAR1 this is not parquet")
    msg = _error(data)
    assert "orders.parquet" in msg and "readable_parquet" in msg


def test_empty_file_without_header(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    (data / "markers.csv").write_bytes(b"")
    msg = _error(data)
    assert "markers.csv" in msg and "header_required" in msg


def test_header_only_table_is_empty_not_an_error(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    header = (data / "markers.csv").read_text().splitlines()[0]
    (data / "markers.csv").write_text(header + "\n")
    ds = load_dataset(data)
    assert len(ds.tables["markers"]) == 0
    assert list(ds.tables["markers"].columns)[:2] == ["marker_id", "person_id"]


def test_duplicate_column_names_csv(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    lines = (data / "custody.csv").read_text().splitlines()
    lines = [line + "," + line.split(",")[1] for line in lines]  # repeat person_id
    (data / "custody.csv").write_text("\n".join(lines) + "\n")
    msg = _error(data)
    assert "custody.csv" in msg and "duplicate_column" in msg and "'person_id'" in msg


def test_duplicate_column_names_parquet(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables, "parquet")
    frame = pd.DataFrame(tables["custody"])
    arrays = [pa.array(frame[c]) for c in frame.columns] + [pa.array(frame["kind"])]
    table = pa.Table.from_arrays(arrays, names=[*frame.columns, "kind"])
    pq.write_table(table, data / "custody.parquet")
    msg = _error(data)
    assert "custody.parquet" in msg and "duplicate_column" in msg and "'kind'" in msg


def test_invalid_utf8(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    raw = (data / "referrals.csv").read_bytes()
    (data / "referrals.csv").write_bytes(raw.replace(b"marac", b"mar\xff\xfec", 1))
    msg = _error(data)
    assert "referrals.csv" in msg and "utf8_required" in msg
    (data / "referrals.csv").write_bytes(b"\xffreferral_id\n" + raw)
    msg = _error(data)
    assert "referrals.csv" in msg and "utf8_required" in msg and "header" in msg


def test_ragged_csv_row(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    with open(data / "orders.csv", "a") as fh:
        fh.write("O99,P001,,dvpo,2019-01-01,,2019-01-01,surplus,fields\n")
    msg = _error(data)
    assert "orders.csv" in msg and "readable_csv" in msg


def test_same_table_in_two_formats(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    write_dataset(data, {"markers": tables["markers"]}, "parquet")
    msg = _error(data)
    assert "markers.csv" in msg and "markers.parquet" in msg and "one_file_per_table" in msg


def test_most_rows_failing_names_dominant_rule(tmp_path, tables, fmt):
    for i in range(11):  # 11 of 20 incidents
        tables["incidents"][i]["offence"] = f"made_up_{i}"
    msg = _error(write_dataset(tmp_path / "d", tables, fmt))
    assert f"incidents.{fmt}" in msg and "'offence'" in msg and "rule unknown_enum" in msg
    assert "11 of 20" in msg and "made_up_0" in msg


def test_half_failing_is_still_accepted(tmp_path, tables):
    for i in range(10):  # exactly 50%: not "most"
        tables["incidents"][i + 6]["weapon"] = "sword"
    ds = load_dataset(write_dataset(tmp_path / "d", tables))
    assert ds.report.tables["incidents"].rules == {"unknown_enum": 10}


def test_bulk_duplicate_keys(tmp_path, tables, fmt):
    tables["persons"] = tables["persons"] + tables["persons"]  # exported twice
    msg = _error(write_dataset(tmp_path / "d", tables, fmt))
    assert f"persons.{fmt}" in msg and "'person_id'" in msg and "duplicate_key" in msg
    assert "12 of 24" in msg and "P000" in msg


def test_not_a_folder(tmp_path):
    msg = _error(tmp_path / "nope")
    assert "nope" in msg and "dataset_folder" in msg


def test_semicolon_separated_csv_is_explained(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables)
    frame = pd.read_csv(data / "orders.csv", dtype=str)
    frame.to_csv(data / "orders.csv", sep=";", index=False)
    msg = _error(data)
    assert "orders.csv" in msg and "required_column" in msg and "comma-separated" in msg
