"""Repository layout rules that keep the suite collectable and the design legible."""

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("contract", "simulate", "features", "modelling", "explain", "tracking", "governance",
          "app", "tabular")


def test_test_file_names_are_unique():
    # One name, one place: failures in a report point at one file without a path to read.
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


def test_tests_mirror_every_stage_and_each_stage_registers_commands():
    for stage in STAGES:
        assert (ROOT / "src" / "riskcohort" / stage / "commands.py").exists(), stage
        assert list((ROOT / "tests" / stage).glob("test_*.py")), f"no tests for {stage}"


def test_top_level_folders_of_the_design_exist():
    for folder in ("features", "models", "experiments", "benchmarks", "tests"):
        assert (ROOT / folder).is_dir(), folder
    assert (ROOT / "features" / "indicators.yaml").exists()
