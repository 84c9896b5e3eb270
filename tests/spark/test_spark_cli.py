"""``riskcohort features --engine spark`` end to end, and the one-line environment errors."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.features.engine import build
from riskcohort.features.output import read_metadata


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_features_command_on_spark_equals_duckdb(spark, small_dir, small_dataset, tmp_path):
    out = tmp_path / "f.parquet"
    result = CliRunner().invoke(app, [
        "features", str(small_dir), "--as-of", "2024-01-01", "--out", str(out),
        "--engine", "spark", "--spark-master", "local[2]",
    ])
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    expected = build(small_dataset, ["2024-01-01"], engine="duckdb")
    expected.attrs = {}
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert read_metadata(out)["as_of"] == ["2024-01-01"]


def _features(small_dir, tmp_path, *extra):
    return CliRunner().invoke(app, ["features", str(small_dir), "--as-of", "2024-01-01",
                                    "--out", str(tmp_path / "f.parquet"), *extra])


def test_missing_java_is_one_line(monkeypatch, small_dir, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere on it
    result = _features(small_dir, tmp_path, "--engine", "spark")
    assert result.exit_code == 2
    assert "Java is not available" in result.output and "openjdk-17" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "f.parquet").exists()


def test_missing_pyspark_is_one_line(monkeypatch, small_dir, tmp_path):
    real = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    result = _features(small_dir, tmp_path, "--engine", "spark")
    assert result.exit_code == 2
    assert "pyspark is not installed" in result.output and "riskcohort[spark]" in result.output
    assert "Traceback" not in result.output


def test_unknown_engine_is_one_line(small_dir, tmp_path):
    result = _features(small_dir, tmp_path, "--engine", "polars")
    assert result.exit_code == 2
    assert "--engine" in result.output and "duckdb, spark" in result.output
    assert "Traceback" not in result.output
