"""Governance pack section on interventions (issue 17.6): the block states who was managed, the
managed/unmanaged outcomes, the impact estimate with its interval and assumptions, and how
training handled interventions; absent pieces are said."""

from __future__ import annotations

from types import SimpleNamespace

import jinja2
import pandas as pd

from riskcohort import display
from riskcohort.governance import interventions


def _block() -> tuple[jinja2.Environment, str]:
    env = jinja2.Environment(loader=jinja2.PackageLoader("riskcohort.governance", "templates"))
    src = env.loader.get_source(env, "report.html")[0]
    start = src.index("{% set iv = interventions %}")
    return env, src[start: src.index('<h2 id="stability">')]


def _run(tmp_path, impact=None):
    data = tmp_path / "data"
    data.mkdir()
    T = pd.Timestamp
    pd.DataFrame({"intervention_id": ["V1", "V2", "V3"], "person_id": ["a", "b", "c"],
                  "kind": ["dapst_managed"] * 3,
                  "start_date": [T("2024-01-01"), T("2024-04-01"), T("2024-05-01")],
                  "end_date": [pd.NaT, T("2024-05-01"), pd.NaT],
                  "recorded_at": [T("2024-01-02"), T("2024-04-02"), T("2024-07-01")],
                  "end_recorded_at": [pd.NaT, T("2024-05-02"), pd.NaT]}
                 ).to_parquet(data / "interventions.parquet")
    scores = pd.DataFrame({"person_id": ["a", "b", "d"], "in_cohort": [True, True, False]})
    metrics = SimpleNamespace(by_management={
        "managed": {"people": 2, "serious_harm": 1, "observed_rate": 0.5,
                    "mean_predicted": 0.4, "auc_model": None},
        "unmanaged": {"people": 10, "serious_harm": 1, "observed_rate": 0.1,
                      "mean_predicted": 0.12, "auc_model": 0.8}})
    files = {}
    if impact is not None:
        p = tmp_path / "impact.json"
        p.write_text(__import__("json").dumps(impact))
        files["impact.json"] = p
    return SimpleNamespace(
        data_dir=data, as_of=T("2024-06-01"), scores=scores, metrics=metrics, attachments=files,
        manifest={"training": {"interventions": {"method": "censor", "rows": 100,
                                                 "rows_managed_in_horizon": 7}}})


def test_section_and_block(tmp_path):
    impact = {"kind": "dapst_managed", "from": "2022-01-01", "to": "2023-12-31",
              "relative_risk": 0.61, "lo": 0.45, "hi": 0.83, "n_managed": 300,
              "n_comparison": 700, "assumptions": ["Observational: no randomisation."],
              "warnings": ["Observational estimate.", "Few events."]}
    sec = interventions.section(_run(tmp_path, impact))
    assert sec["managed_now"] == {"recorded": True, "people": 1, "kinds": ["dapst_managed"],
                                  "in_cohort": 1, "cohort_size": 2}  # b ended, c recorded later
    env, block = _block()
    html = env.from_string(block).render(interventions=sec, d=display)
    assert "1 person was under a recorded intervention" in html
    assert "0.61 (95% interval 0.45 to 0.83)" in html and "lies below 1" in html
    assert "Observational: no randomisation." in html and "Few events." in html
    assert "7 of 100 training rows" in html and "left out of training" in html
    assert "50.0%" in html and "0.80" in html


def test_absent_pieces_are_said(tmp_path):
    run = _run(tmp_path)
    run.metrics = None
    run.manifest = {}
    sec = interventions.section(run)
    env, block = _block()
    html = env.from_string(block).render(interventions=sec, d=display)
    assert "No impact estimate is attached" in html
    assert "not recorded (a run before issue 17)" in html


def test_block_shows_window_ranking_and_falsification(tmp_path):
    impact = {"kind": "dapst_managed", "from": "2022-01-01", "to": "2023-12-31",
              "relative_risk": 0.7, "lo": 0.5, "hi": 0.95, "n_managed": 300,
              "n_comparison": 700, "assumptions": [], "warnings": ["Observational."],
              "outcome": "serious domestic harm perpetrated within 638 days of the start",
              "selection": {"score": "incumbent"},
              "checks": {"fake_cutoff": {"relative_risk": 1.04, "lo": 0.8, "hi": 1.3}}}
    env, block = _block()
    html = env.from_string(block).render(interventions=interventions.section(
        _run(tmp_path, impact)), d=display)
    assert "relative risk of serious domestic harm perpetrated within 638 days" in html
    assert "on the incumbent ranking" in html and "1.04 (0.80 to 1.30)" in html
