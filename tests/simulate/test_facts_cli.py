"""The stylized-fact check passes on the small preset, fails when a fact is broken, and the
true risk is calibrated against realised outcomes."""

from __future__ import annotations

import shutil

import pandas as pd
from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.simulate import check
from riskcohort.simulate import panel as pn


def test_all_facts_pass_on_small(small):
    folder, _ = small
    table = check(folder)
    assert len(table) == 12
    failed = table.loc[~table["pass"], ["fact", "measured", "interval"]]
    assert failed.empty, failed.to_string()
    oracle = table[table["fact"].str.startswith("oracle")].iloc[0]
    assert oracle["measured"] > 0.8


def test_truth_is_calibrated_on_small(small):
    folder, _ = small
    p = pn.panel(pn.Data(folder))
    ratio = p["serious_harm"].sum() / p["p_serious_harm"].fillna(0).sum()
    assert 0.7 < ratio < 1.3, ratio


def test_ilas_covers_most_but_not_all_and_flags_100(small):
    folder, _ = small
    base = pd.read_csv(folder / "baseline_scores.csv", parse_dates=["as_of"])
    assert (base["system"] == "ILAS").all()
    assert (base.groupby("as_of")["in_cohort"].sum() == 100).all()
    p = pn.panel(pn.Data(folder))
    p = p[p["as_of"].isin(base["as_of"].unique())]
    covered = p.merge(base, on=["person_id", "as_of"], how="left")["score"].notna().mean()
    assert 0.5 < covered < 0.97, covered


def test_cli_check_exit_codes(small, tmp_path):
    folder, _ = small
    runner = CliRunner()
    ok = runner.invoke(app, ["simulate", "--check", str(folder)], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "Stylized facts" in ok.output
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    persons = pd.read_parquet(broken / "persons.parquet")
    persons["sex"] = "female"
    persons.to_parquet(broken / "persons.parquet", index=False)
    bad = runner.invoke(app, ["simulate", "--check", str(broken)])
    assert bad.exit_code == 1
    assert bad.exception is None or isinstance(bad.exception, SystemExit)


def test_cli_writes_csv(tmp_path):
    out = tmp_path / "d"
    res = CliRunner().invoke(app, ["simulate", "--out", str(out), "--preset", "tiny",
                                   "--format", "csv", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert (out / "incidents.csv").exists() and not (out / "incidents.parquet").exists()
    assert (out / "_truth" / "risk.parquet").exists()
