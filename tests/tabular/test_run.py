"""End to end: the CLI on a generated table with known structure."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskcohort.cli import app


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory, table):
    root = tmp_path_factory.mktemp("tab")
    path = root / "people.csv"
    table.to_csv(path, index=False)
    out = root / "out"
    result = CliRunner().invoke(app, [
        "tabular", str(path), "--id", "person_ref", "--label", "label", "--time", "referral_date",
        "--baseline", "dash_score", "--protected", "ethnicity", "--increasing", "prior_incidents",
        "--out", str(out), "--tracking-uri", f"sqlite:///{root / 'mlflow.db'}",
    ])
    assert result.exit_code == 0, result.output
    return out, result.output, table


def test_leak_and_identifier_are_excluded_with_a_warning(tabular_run):
    out, output, _ = tabular_run
    assert "'outcome_copy' excluded" in output and "leak" in output
    assert "'case_number' excluded" in output and "identifier-like" in output
    types = {t["name"]: t for t in json.loads((out / "types.json").read_text())}
    assert types["outcome_copy"]["kind"] == "excluded"
    assert "ethnicity" not in types and "dash_score" not in types  # never candidate inputs


def test_model_finds_the_signal_and_beats_the_partial_baseline(tabular_run):
    out, _, _ = tabular_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scores"]["model"]["roc_auc"]["value"] > 0.75
    diff = metrics["differences"]["dash_score"]["roc_auc"]
    assert diff["lo"] > 0


def test_test_split_is_the_latest_rows_and_baseline_uses_the_same_rows(tabular_run):
    out, _, table = tabular_run
    scores = pd.read_csv(out / "scores.csv", dtype={"id": str})
    merged = scores.merge(table, left_on="id", right_on="person_ref")
    when = pd.to_datetime(merged["referral_date"])
    test = merged["split"] == "test"
    assert when[test].min() >= when[~test].max()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == int(test.sum()) == metrics["split"]["n_test"]
    assert metrics["positives"] == int(merged.loc[test, "label"].sum())


def test_explanations_cover_test_rows_only_and_audit_is_by_protected_column(tabular_run):
    out, _, _ = tabular_run
    expl = pd.read_parquet(out / "explanations.parquet")
    scores = pd.read_csv(out / "scores.csv", dtype={"id": str})
    assert set(expl["person_id"]) == set(scores.loc[scores["split"] == "test", "id"])
    metrics = json.loads((out / "metrics.json").read_text())
    groups = {row["group"] for row in metrics["fairness"]["ethnicity"]}
    assert {"white", "black", "asian"} <= groups


def test_mlflow_has_model_and_baseline_runs(tabular_run):
    out, _, _ = tabular_run
    import mlflow

    info = json.loads((out / "tracking.json").read_text())
    runs = mlflow.MlflowClient(info["tracking_uri"]).search_runs(
        [mlflow.MlflowClient(info["tracking_uri"]).get_experiment_by_name("tabular").experiment_id])
    kinds = sorted(r.data.tags["kind"] for r in runs)
    assert kinds == ["baseline", "model"]
    model = next(r for r in runs if r.data.tags["kind"] == "model")
    assert "roc_auc_lo" in model.data.metrics


def test_bad_label_is_one_clear_message(tmp_path, table):
    path = tmp_path / "t.csv"
    table.assign(label=table["label"].astype(str).replace("1", "maybe")).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["tabular", str(path), "--id", "person_ref",
                                      "--label", "label", "--no-tracking"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
