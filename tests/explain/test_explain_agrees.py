"""Issue 14.2/14.3: explanations agree with the score; custody and ties are carried.

The numbers an officer reads in four places (scores.csv, `explain` text and JSON, the end of the
waterfall) must be one number; effects are exact shares of score - base, signed like their
log-odds; the words are plain English.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskcohort.explain.calibration import sigmoid_calibration
from riskcohort.explain.labels import Label, indicator_labels, readable_name, render_reason
from riskcohort.explain.person import change_text, custody_text, explain_person
from riskcohort.explain.reasons import attribute_pp, reason_codes, share_pp
from riskcohort.runfolder import layout as L
from tests.explain.conftest import INDICATORS, make_run, republish


@pytest.mark.parametrize("seed", range(4))
def test_effects_add_up_to_score_minus_base_and_follow_the_sign(seed):
    rng = np.random.default_rng(seed)
    cal = sigmoid_calibration("test")
    contrib = rng.normal(0, 0.6, 12)
    base = -3.0
    margin = base + contrib.sum()
    labels = [Label(f"x{i}", f"Thing {i}", f"{{value:.0f}} things {i}", "count")
              for i in range(12)]
    up, down = reason_codes(np.ones(12), contrib, margin, cal, labels, n_up=12, n_down=12)
    total = sum(r.effect_pp for r in up + down)
    expected = 100 * float(cal.probability(margin) - cal.probability(base))
    assert total == pytest.approx(expected, abs=1e-9)
    for r in up + down:
        assert np.sign(r.effect_pp) == np.sign(r.contribution_logodds)
        assert r.direction == ("raises" if r.contribution_logodds > 0 else "lowers")
        assert (" raises " in r.text) == (r.contribution_logodds > 0)
    # the app's form (ends known, no model) gives the same shares
    pts = share_pp(float(cal.probability(base)), float(cal.probability(margin)), contrib)
    assert np.allclose(pts, attribute_pp(cal, base, contrib))


def test_plain_words_plurals_and_rounding():
    one = Label("a", "Assessments", "strangulation reported in {value:.0f} risk assessments",
                "assessments")
    assert render_reason(one, 1.0) == "strangulation reported in 1 risk assessment"
    assert render_reason(one, 2.0) == "strangulation reported in 2 risk assessments"
    breach = Label("b", "Breaches", "{value:.0f} breaches of protective orders", "breaches")
    assert render_reason(breach, 1.0) == "1 breach of protective orders"
    age = Label("g", "Age in years at T; NaN if unknown.", "aged {value:.0f}", "years")
    assert render_reason(age, 52.1478) == "aged 52"
    unknown = render_reason(age, float("nan"))
    assert unknown == "Age in years at the scoring date: unknown"
    rel = Label("r", "1 if ...", "current relationship is intimate ({value:.0f})", "flag")
    assert render_reason(rel, 1.0) == "current relationship is intimate"
    assert render_reason(rel, 0.0) == "current relationship is not intimate"
    assert change_text(0) == "no change" and change_text(-1) == "down 1 place"


def test_every_catalogue_reason_reads_plainly():
    labels = indicator_labels(list(_catalogue_names()))
    bad = re.compile(r"\bNaN\b|(?<![\w-])T(?![\w-])|\b[a-z]+_[a-z_]+\b|\b1 \w* ?\w*(ments|ences)\b")
    for name, lab in labels.items():
        shown = readable_name(lab)
        assert not bad.search(shown) and "(e.g" not in shown and name not in shown, shown
        for value in (0.0, 1.0, 2.0, 437.621, float("nan")):
            text = render_reason(lab, value)
            assert not bad.search(text), (name, value, text)


def _catalogue_names():
    from riskcohort.features.catalogue import load_catalogue

    return [i.name for i in load_catalogue()]


@pytest.fixture(scope="module")
def custody_run(tmp_path_factory):
    """A fixture run whose scores.csv carries ties and the custody columns."""
    run = make_run(tmp_path_factory.mktemp("custody"), platt=(0.8, -0.3))
    scores = pd.read_csv(run / L.SCORES)
    scores["tied"] = False
    scores.loc[[0, 1], "tied"] = True
    scores["in_custody"] = pd.array([True] + [False] * (len(scores) - 1), dtype="boolean")
    scores["days_since_custody_release"] = pd.array([None, 60] + [None] * (len(scores) - 2),
                                                    dtype="Int64")
    scores["score_lo"], scores["score_hi"] = scores["score"] * 0.5, scores["score"] * 1.5
    return republish(run, {L.SCORES: scores}), scores


def test_json_carries_score_interval_rank_tie_custody_and_signed_reasons(custody_run):
    from riskcohort.cli import app

    run, scores = custody_run
    for i in (0, 1, 2):
        pid = scores.loc[i, "person_id"]
        res = CliRunner().invoke(app, ["explain", pid, "--run", str(run), "--format", "json",
                                       "--no-evidence"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert data["score"] == pytest.approx(scores.loc[i, "score"], abs=0)  # same number
        assert data["score_lo"] == pytest.approx(scores.loc[i, "score_lo"])
        assert data["score_hi"] == pytest.approx(scores.loc[i, "score_hi"])
        assert data["rank"] == scores.loc[i, "rank"]
        assert data["tied"] is bool(scores.loc[i, "tied"])
        assert data["rank_text"] == ("=" if data["tied"] else "") + str(data["rank"])
        assert data["in_custody"] is (i == 0)
        assert data["days_since_custody_release"] == (60 if i == 1 else None)
        assert data["reasons"] and all(
            np.sign(r["effect_pp"]) == np.sign(r["contribution_logodds"]) != 0
            for r in data["reasons"])
    held = explain_person(run, scores.loc[0, "person_id"], with_evidence=False)
    assert held.custody_text.startswith("In custody on the scoring date")
    released = explain_person(run, scores.loc[1, "person_id"], with_evidence=False)
    assert "60 days before the scoring date (on 2023-11-02)" in released.custody_text


def test_text_shows_tie_and_custody(custody_run):
    from riskcohort.cli import app

    run, scores = custody_run
    pid = scores.loc[0, "person_id"]
    res = CliRunner().invoke(app, ["explain", pid, "--run", str(run), "--no-evidence"],
                             terminal_width=80)
    assert res.exit_code == 0, res.output
    assert f"rank ={scores.loc[0, 'rank']} of" in res.output
    assert "In custody on the scoring date" in res.output
    assert "NaN" not in res.output and "model/calibrator.json" not in res.output


def test_whole_person_effects_end_at_the_stored_score(run_dir):
    from riskcohort.explain.scored import load_scored
    from riskcohort.explain.shap_adapter import contributions

    run = load_scored(run_dir)
    x = run.matrix(run.features.iloc[[7]])
    base, vals = contributions(run.booster, x, engine="lightgbm")
    exp = explain_person(run, run.features.loc[7, "person_id"], with_evidence=False)
    pts = attribute_pp(run.calibration, base, vals[0], exp.score)
    assert float(run.calibration.probability(base)) + pts.sum() / 100 == pytest.approx(
        exp.score, abs=1e-12)
    shown = {r.indicator: r.effect_pp for r in exp.reasons_up + exp.reasons_down}
    for name, value in shown.items():
        assert value == pytest.approx(pts[INDICATORS.index(name)])


def test_custody_text_only_when_it_matters():
    assert custody_text(False, 400, "2025-07-01") is None
    assert custody_text(None, None, "2025-07-01") is None
    assert "1 day before" in custody_text(False, 1, "2025-07-01")
