"""``riskcohort validate``: exit codes, report folder, messages without tracebacks."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from riskcohort.cli import app
from tests.contract.contract_data import write_dataset

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["validate", *map(str, args)])


def test_clean_dataset_default_report_folder(tmp_path, tables):
    data = write_dataset(tmp_path / "force", tables)
    result = _run(data, "--no-data-docs")
    assert result.exit_code == 0, result.output
    report_dir = tmp_path / "force-validation"
    summary = json.loads((report_dir / "validation.json").read_text())
    assert summary["quarantined"] == 0
    assert summary["tables"]["incidents"]["read"] == 20
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{n}.csv" for n in tables)
    assert "incidents" in result.output and "20" in result.output


def test_quarantine_exit_0_and_strict_exit_1(tmp_path, tables):
    tables["incidents"][15]["perpetrator_id"] = "P999"
    data = write_dataset(tmp_path / "d", tables)
    out = tmp_path / "out"
    result = _run(data, "--out", out, "--no-data-docs")
    assert result.exit_code == 0, result.output
    assert "missing_reference" in result.output and "P999" in result.output
    summary = json.loads((out / "validation.json").read_text())
    assert summary["rule_counts"] == {"missing_reference": 1}
    assert summary["tables"]["incidents"]["quarantined"] == 1
    strict = _run(data, "--out", out, "--strict", "--no-data-docs")
    assert strict.exit_code == 1
    assert "Traceback" not in strict.output


def test_structural_problem_exit_2_with_specific_message(tmp_path, tables):
    for i in range(15):
        tables["incidents"][i]["domestic"] = f"perhaps{i}"
    data = write_dataset(tmp_path / "d", tables, "parquet")
    result = _run(data, "--out", tmp_path / "out")
    assert result.exit_code == 2
    text = result.output
    assert "incidents.parquet" in text and "'domestic'" in text and "invalid_type" in text
    assert "perhaps0" in text and "Traceback" not in text


def test_missing_required_column_exit_2(tmp_path, tables):
    for row in tables["persons"]:
        del row["sex"]
    result = _run(write_dataset(tmp_path / "d", tables), "--no-data-docs")
    assert result.exit_code == 2
    assert "persons.csv" in result.output and "'sex'" in result.output
    assert "required_column" in result.output and "Traceback" not in result.output


def test_data_docs_written(tmp_path, tables):
    tables["markers"][0]["kind"] = "laser"
    data = write_dataset(tmp_path / "d", tables)
    out = tmp_path / "out"
    result = _run(data, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "data_docs" / "index.html").is_file()
    assert list((out / "data_docs").rglob("*incidents*"))
    summary = json.loads((out / "validation.json").read_text())
    assert summary["tables"]["markers"]["expectations"]["success"] is True
    assert summary["tables"]["incidents"]["expectations"]["evaluated"] > 30
    assert "Calculating Metrics" not in result.output
    again = _run(data, "--out", out)  # a re-run swaps the site in and leaves no temp folders
    assert again.exit_code == 0
    assert (out / "data_docs" / "index.html").is_file()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
