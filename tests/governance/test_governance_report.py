"""The governance pack renders from a fixture run folder; its numbers are the recomputed ones."""

from __future__ import annotations

import json
import re
import sys

import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.governance import drift, report
from tests.governance.gov_fixture import check_fairness_json, write_run

EXTERNAL = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def pack(run_dir):
    path = report(run_dir, n_boot=60)
    return path, path.read_text(encoding="utf-8")


def test_pack_written_with_atrs_and_fairness_json(pack, run_dir):
    path, html = pack
    assert path == run_dir / "report.html"
    atrs = (run_dir / "report.atrs.md").read_text()
    assert "## Tier 1: summary" in atrs and "## Tier 2: detail" in atrs
    assert "Tier 1: summary" in html  # embedded
    assert "Medina & Brown" in atrs and "Medina &amp; Brown" in html  # escaped once, in HTML only
    table = pd.read_csv(run_dir / "fairness.csv")
    assert {"attribute", "group", "metric", "value", "lo", "hi", "ratio", "small"} <= set(table)
    assert (run_dir / "fairness_equal_risk.csv").exists()
    for heading in ("Model card", "Intended use", "Out-of-scope uses", "Factors", "Metrics",
                    "Evaluation data", "Training data", "Quantitative analyses",
                    "Ethical considerations", "Caveats and recommendations", "Fairness audit",
                    "Bias at equal true risk", "ALGO-CARE", "Limitations"):
        assert f">{heading}" in html or f" {heading}</h" in html, heading
    for factor in ("Advisory", "Lawful", "Granularity", "Ownership", "Challengeable",
                   "Accuracy", "Responsible", "Explainable"):
        assert f"<b>{factor}</b>" in html
    for source in ("Kleinberg", "Chouldechova", "44.9%", "Thornton", "Chalkley"):
        assert source in html
    assert "never makes one" in html and "too small to judge" in html
    assert "No previous iteration" in html


def test_no_external_references(pack):
    _, html = pack
    assert not EXTERNAL.search(html)
    assert "url(" not in html and "@import" not in html
    srcs = re.findall(r'<img[^>]*\bsrc="([^"]*)"', html)
    assert len(srcs) >= 5 and all(s.startswith("data:image/") for s in srcs)


def test_fairness_json_matches_direct_recomputation(pack, run_dir):
    assert check_fairness_json(run_dir) > 50
    # the fixture's scores carry no group bias: the equal-risk check must not flag anything
    data = json.loads((run_dir / "fairness.json").read_text())
    assert data["equal_risk"] and not data["equal_risk_flags"]
    # the thresholds documented in docs/governance.md and printed in the pack
    assert data["thresholds"] == {"min_members": 50, "min_positives": 10, "flag_low": 0.8,
                                  "flag_high": 1.25, "equal_risk_alpha": 0.01,
                                  "equal_risk_strata": 20}


def test_drift_against_previous_run_and_stability_from_siblings(tmp_path):
    prev = write_run(tmp_path, seed=1, as_of="2023-07-01", name="a_prev")
    cur = write_run(tmp_path, seed=1, as_of="2024-01-01", name="b_cur", shift=1.0)
    html = report(cur, out=tmp_path / "out" / "pack.html", previous=prev, n_boot=30) \
        .read_text()
    assert (tmp_path / "out" / "pack.atrs.md").exists()
    assert (cur / "fairness.json").exists()
    s_prev = pd.read_csv(prev / "scores.csv")["score"]
    s_cur = pd.read_csv(cur / "scores.csv")["score"]
    want = drift.psi(s_prev, s_cur)
    assert want > 0.1
    assert f"Score: PSI {want:.3g}" in html
    assert "da_count_365d" in html.split('id="drift"')[1]
    assert "sibling run folders" in html and "2023-07-01" in html


def test_not_a_run_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="run folder"):
        report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="run.json"):
        report(tmp_path / "empty")


def test_pdf_or_clear_error(run_dir, tmp_path, monkeypatch):
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        with pytest.raises(UserError, match="WeasyPrint"):
            report(run_dir, out=tmp_path / "r.html", pdf=True, n_boot=20)
    else:
        report(run_dir, out=tmp_path / "r.html", pdf=True, n_boot=20)
        assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import now fails
    with pytest.raises(UserError, match="omit --pdf"):
        report(run_dir, out=tmp_path / "r2.html", pdf=True, n_boot=20)


def test_cli_report(run_dir, tmp_path):
    import typer
    from typer.testing import CliRunner

    from riskcohort.governance.commands import register

    app = typer.Typer()
    register(app)

    @app.command()
    def _noop() -> None:  # a second command so typer keeps the command name
        pass

    out = tmp_path / "cli.html"
    res = CliRunner().invoke(app, ["report", str(run_dir), "--out", str(out), "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    assert out.exists() and "governance pack" in res.output


def test_without_outcomes_or_truth_the_pack_says_so(tmp_path):
    run = write_run(tmp_path, seed=4, outcomes=False)
    data_dir = json.loads((run / "run.json").read_text())["data_dir"]
    (run / data_dir / "_truth" / "risk.parquet").unlink()
    html = report(run, n_boot=20).read_text()
    assert "Outcomes are not known" in html and "could not be run" in html
    assert "metrics.json not available" in html
    data = json.loads((run / "fairness.json").read_text())
    assert data["equal_risk"] is None and not data["outcomes_known"]


def test_stability_from_backtest_json_and_previous_from_run_json(tmp_path):
    prev = write_run(tmp_path, seed=2, as_of="2023-01-01", name="2023-01-01")
    cur = write_run(tmp_path, seed=2, as_of="2024-01-01", name="2024-01-01",
                    previous_run="2023-01-01")
    dates = [{"as_of": d, "run_dir": d, "model": {"roc_auc": auc,
              "recall@100": rec}} for d, auc, rec in
             (("2023-01-01", 0.7123, 0.25), ("2023-07-01", 0.7345, 0.3), ("2024-01-01", 0.7567,
                                                                           0.35))]
    (tmp_path / "backtest.json").write_text(json.dumps({
        "schema_version": 2, "complete": True, "experiment": "x", "dates": dates}))
    html = report(cur, n_boot=20).read_text()
    stability = html.split('id="stability"')[1].split('id="fairness"')[0]
    assert "backtest.json" in stability and "2023-07-01" in stability
    assert all(v in stability for v in ("0.712", "0.735", "0.757"))
    drift_part = html.split('id="drift"')[1]
    assert "<code>2023-01-01</code>" in drift_part and "Score: PSI" in drift_part
    assert str(prev) not in html  # named by its folder, never by an absolute path


def test_age_as_a_model_input_is_declared(pack, tmp_path):
    _, html = pack
    assert "Age is not a model input" in html
    run = write_run(tmp_path, seed=3,
                    features=["da_count_365d", "days_since_last_da", "age_at_as_of"])
    out = report(run, n_boot=20)
    for text in (out.read_text(), out.with_suffix(".atrs.md").read_text()):
        assert "Age is a model input (age_at_as_of)" in text and "Equality Act 2010" in text
