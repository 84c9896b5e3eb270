"""Display names, number formatting, the sign-off record, governance.toml and the pieces of the
pack that are pure functions (tie-aware curves, calibration bins, pseudonymised case choice)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskcohort import display
from riskcohort.errors import UserError
from riskcohort.governance import legal, persons, plots, signoff


def test_metric_and_system_names_are_never_raw():
    for key in ("roc_auc", "pr_auc", "ece", "brier", "calibration_slope", "recall@50",
                "recall_at_100", "precision@200", "harm@50", "homicides@100"):
        name = display.metric_name(key)
        assert "_" not in name and "@" not in name and name != key, (key, name)
    assert display.metric_name("recall@100") == "Recall in the top 100"
    assert display.system_name("dash_dara") == "DASH/DARA grade"
    # the rule baseline "iteration_2" must not read like a run called iteration-2
    assert "iteration" not in display.system_name("iteration_2").lower()
    assert display.system_name("ILAS") == "Incumbent ILAS"


def test_numbers_for_people():
    assert display.percent(100 / 2531) == "4.0%"
    assert display.share_text(100, 2531) == "top 100 (4.0% of 2,531 scored)"
    assert display.count(0, "homicide") == "no homicides"
    assert display.count(1, "homicide") == "1 homicide"
    assert "e-" not in display.number(1.62e-07) and "e-" not in display.number(3e-5)
    assert display.number(0.36) == "0.36" and display.number(12345.6) == "12,346"


def test_natural_order_of_categories():
    ages = ["65 and over", "unknown", "35-44", "under 25", "(all)", "25-34"]
    assert display.natural_order(ages, "age_band") == [
        "(all)", "under 25", "25-34", "35-44", "65 and over", "unknown"]
    assert display.natural_order(["low", "high", "moderate", "elevated"], "band") == [
        "high", "elevated", "moderate", "low"]


def test_indicator_names_come_from_the_catalogue():
    name = display.indicator_name("days_since_last_da")
    assert "_" not in name and " T" not in name and name[0].isupper()


def test_signoff_round_trip_file_and_tags(tmp_path):
    assert signoff.read(tmp_path) is None
    signoff.write(tmp_path, decision="deferred", name="B. Jones", role="DPO", date="2026-11-01")
    rec = signoff.write(tmp_path, decision="approved with conditions", name="A. Smith",
                        role="Chair, ethics board", date="2026-11-30", note="12-month trial",
                        model_version=3, run_id="abc")
    raw = json.loads((tmp_path / signoff.FILE_NAME).read_text())
    assert raw["schema"] == signoff.SCHEMA and len(raw["records"]) == 2
    got = signoff.read(tmp_path)
    assert got.decision == "approved with conditions" and got.name == "A. Smith"
    assert got.model_version == "3" and got.run == tmp_path.name
    assert "/" not in got.run  # never an absolute path
    back = signoff.from_tags(rec.to_tags())
    assert (back.decision, back.name, back.role, back.date, back.note) == (
        rec.decision, rec.name, rec.role, rec.date, rec.note)
    assert signoff.read(None, rec.to_tags()).name == "A. Smith"
    with pytest.raises(UserError, match="decision"):
        signoff.write(tmp_path, decision="yes", name="x", role="y")
    with pytest.raises(UserError, match="YYYY-MM-DD"):
        signoff.write(tmp_path, decision="approved", name="x", role="y", date="30/11/2026")


def test_governance_toml_unfilled_fields_are_marked(tmp_path):
    secs = legal.sections(legal.load(None), {"features": ["marker_mental_health"], "k": 100})
    titles = " ".join(s["title"] for s in secs)
    for law in ("s.35", "Schedule 8", "49-50", "Article 8", "s.149", "ALGO-CARE"):
        assert law in titles
    total = sum(len(s["fields"]) for s in secs)
    assert legal.unfilled(secs) == total
    assert "health" in secs[0]["engine"][0]
    gov = tmp_path / "governance.toml"
    gov.write_text('[trial]\nreview_date = "2027-06-30"\nsuccess_criteria = ["a", "b"]\n')
    run = tmp_path / "runs" / "run"
    assert legal.find(run, None, None) is None
    assert legal.find(run, None, tmp_path) == gov  # the work folder
    beside = tmp_path / "runs" / "governance.toml"
    beside.parent.mkdir()
    beside.write_text("")
    assert legal.find(run, None, tmp_path) == beside  # next to the run wins
    secs = legal.sections(legal.load(gov), {"features": [], "k": 100})
    assert legal.unfilled(secs) == total - 2
    trial = next(s for s in secs if s["id"] == "trial")
    got = {f["key"]: f["value"] for f in trial["fields"]}
    assert got["trial.review_date"] == "2027-06-30" and got["trial.success_criteria"] == ["a", "b"]
    with pytest.raises(UserError, match="not found"):
        legal.find(None, tmp_path / "missing.toml")


def test_curves_count_ties_like_the_metrics():
    # 4 people tied at the top, 2 of them harmed: the top 2 catch 1 expected case, not 0 or 2
    score = np.array([0.9, 0.9, 0.9, 0.9, 0.1, 0.05])
    y = np.array([1, 0, 1, 0, 1, 0])
    p, r = plots.at_k(score, y, [1, 2, 4, 5, 6])
    assert np.allclose(r * 3, [0.5, 1.0, 2.0, 3.0, 3.0])
    assert np.allclose(p, [0.5, 0.5, 0.5, 0.6, 0.5])
    # a tiebreak (the model's margin) orders the tied group
    p, r = plots.at_k(score, y, [1, 2], tiebreak=np.array([4, 3, 2, 1, 0, -1]))
    assert np.allclose(r * 3, [1.0, 1.0])


def test_calibration_bins_never_give_negative_error_bars():
    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 60, 3000)
    y = (rng.random(3000) < p).astype(float)
    t = plots.calibration_bins(p, y)
    assert (t["observed"] == 0).any()  # zero-count deciles are the case that crashed
    bars = plots.error_bars(t["observed"], t["lo"], t["hi"])
    assert (bars >= 0).all()
    assert plots.calibration_plot(p, y).startswith("data:image/svg+xml")
    assert (plots.error_bars([0.1], [0.2], [0.05]) == 0).all()


def test_case_choice_top_and_seeded_sample_with_pseudonyms():
    n = 300
    scores = pd.DataFrame({"person_id": [f"P{i:04d}" for i in range(n)],
                           "score": np.linspace(0.5, 0.001, n), "rank": np.arange(1, n + 1),
                           "in_cohort": np.arange(1, n + 1) <= 50})
    a = persons.choose(scores, 20, seed=1)
    b = persons.choose(scores, 20, seed=1)
    c = persons.choose(scores, 20, seed=2)
    top, sample = a[a["group"] == "top"], a[a["group"] == "sample"]
    assert top["rank"].tolist() == list(range(1, 21))
    assert len(sample) == 20 and (sample["rank"] > 50).all()
    assert a.equals(b) and not a["person_id"].equals(c["person_id"])
    assert not any(pid in " ".join(a["pseudonym"]) for pid in a["person_id"])


def test_signoff_in_a_published_run_is_a_verified_attachment(tmp_path):
    from riskcohort import runfolder

    with runfolder.RunWriter(tmp_path / "run") as w:
        w.write_frame("scores.csv", pd.DataFrame({"person_id": ["a"], "score": [0.1]}))
        run = w.publish(runfolder.Manifest(as_of="2024-01-01"))
    signoff.write(run, decision="approved", name="A. Smith", role="Chair", date="2026-11-30")
    assert signoff.FILE_NAME in runfolder.read_manifest(run).attachments
    runfolder.open_run(run)  # the run itself is still complete and unmodified
    assert signoff.read(run).name == "A. Smith"
    path = run / signoff.FILE_NAME
    path.write_text(path.read_text().replace("A. Smith", "Somebody Else"))
    assert signoff.read(run) is None  # edited by hand: not a sign-off
