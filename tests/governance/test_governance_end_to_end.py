"""The pack on a real run folder: simulate (with recording bias) -> run -> report.

Why: the fixture run folder is written by these tests; this checks the pack against what the
modelling stage actually writes. Kept small (small preset, one hyperparameter trial) for speed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.governance.gov_fixture import check_fairness_json
from tests.governance.headlines import check_headlines

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_report_on_a_real_biased_run(tmp_path):
    from riskcohort.governance import report
    from riskcohort.modelling.config import load_experiment
    from riskcohort.simulate import simulate
    from riskcohort.workflow import run_experiment

    data = tmp_path / "data"
    simulate(data, preset="small", seed=7, clean=True, bias_group="black", bias_rate=1.0)
    last = pd.read_parquet(data / "incidents.parquet", columns=["recorded_at"])["recorded_at"].max()
    as_of = (pd.Timestamp(last) - pd.Timedelta(days=400)).to_period("M").to_timestamp().date()
    cfg = load_experiment(REPO / "experiments" / "iteration-3-small.toml", data=data,
                          as_of=str(as_of), out=tmp_path / "run")
    cfg = cfg.with_overrides(
        model_spec={**cfg.model_spec, "search": {**cfg.model_spec["search"], "n_trials": 1}},
        max_snapshots=18, cv_folds=2, n_boot=50)
    run_experiment(cfg)
    run = tmp_path / "run"

    html = report(run, n_boot=50, n_persons=3).read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "This model" in html
    assert "Incumbent" in html or "cannot be compared at this date" in html
    # every headline number recomputed from the run folder (issue 21)
    assert check_headlines(run, html) > 50
    cases = html.split('id="persons"')[1].split('id="fairness"')[0]
    assert cases.count("Top 0") == 3 and cases.count("Sample 0") == 3
    assert "Raises" in cases and "pp" in cases
    key = pd.read_csv(run / "report.pseudonyms.csv", dtype=str)
    assert len(key) == 6 and not any(pid in html for pid in key["person_id"])
    assert "Rules broken" in html  # the contract's validation summary, as a table
    assert check_fairness_json(run) > 50
    fair = json.loads((run / "fairness.json").read_text())
    # every ranking of the run is audited at equal true risk, never the oracle (the truth itself)
    evaluated = set(pd.read_parquet(run / "evaluation.parquet").columns)
    assert "oracle" in evaluated
    systems = {r["system"] for r in fair["equal_risk_by_system"]}
    assert systems == {"model"} | (evaluated - {"person_id", "as_of", "serious_harm", "homicide",
                                                "harm_weight", "model", "oracle"})
    groups = {r["group"] for r in fair["equal_risk"] if r["attribute"] == "ethnicity"}
    assert {"black", "white"} <= groups
    persons = pd.read_parquet(data / "persons.parquet")
    scores = pd.read_csv(run / "scores.csv", dtype={"person_id": str})
    n_black = scores.merge(persons, on="person_id")["ethnicity"].eq("black").sum()
    row = next(r for r in fair["equal_risk"] if r["group"] == "black")
    assert row["members"] == n_black and row["rank_shift"] is not None
