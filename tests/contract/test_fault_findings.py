"""Issue 15 low findings in the contract stage, each a test that failed before the fix."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from riskcohort.contract import load_dataset
from riskcohort.errors import UserError
from tests.contract.contract_data import valid_tables, write_dataset


def test_header_only_incidents_is_named_not_blamed_on_assessments(tmp_path):
    tables = valid_tables()
    tables["incidents"] = pd.DataFrame(columns=list(tables["incidents"][0]))
    with pytest.raises(UserError) as info:
        load_dataset(write_dataset(tmp_path / "d", tables))
    msg = str(info.value)
    assert "incidents.csv" in msg and "required_rows" in msg
    assert "risk_assessments" not in msg


def test_latin1_file_names_column_and_line(tmp_path):
    data = write_dataset(tmp_path / "d", valid_tables())
    persons = pd.read_csv(data / "persons.csv", dtype=str, keep_default_na=False)
    column = "ethnicity"
    persons.loc[3, column] = "Zoë"  # row 4 -> line 5 of the file (after the header)
    persons.to_csv(data / "persons.csv", index=False, encoding="latin-1", lineterminator="\r\n")
    with pytest.raises(UserError) as info:
        load_dataset(data)
    msg = str(info.value)
    assert f"column {column!r}" in msg and "line 5" in msg and "utf8_required" in msg
    assert "#" not in msg  # no bare column number


def test_data_docs_temporary_folders_never_left_behind(tmp_path):
    data = write_dataset(tmp_path / "d", valid_tables())
    report = tmp_path / "report"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = report / f".data_docs.{dead.pid}.abc123"  # what a killed validation left
    stale.mkdir(parents=True)
    (stale / "index.html").write_text("half")
    load_dataset(data, report_dir=report, data_docs=True)
    assert (report / "data_docs" / "index.html").exists()
    assert [p.name for p in report.iterdir() if p.name.startswith(".")] == []
