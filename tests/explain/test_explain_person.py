"""explain_person: the stored score and rank, consistent reasons, snapshots and the what-if."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.explain.person import explain_person
from riskcohort.explain.run import explain_run
from riskcohort.runfolder import layout as L
from tests.explain.conftest import republish

PLATT = (0.8, -0.3)


def _prob(margin):
    return 1 / (1 + np.exp(-(PLATT[0] * np.asarray(margin) + PLATT[1])))


@pytest.fixture(scope="module")
def scored(run_dir):
    return pd.read_csv(run_dir / "scores.csv", dtype={"person_id": str})


@pytest.mark.parametrize("pid", ["P00000", "P00007", "P00123"])
def test_score_rank_band_are_the_stored_ones(run_dir, scored, pid):
    exp = explain_person(run_dir, pid, with_evidence=False)
    row = scored.set_index("person_id").loc[pid]
    assert (exp.score, exp.rank, exp.band) == (row["score"], row["rank"], row["band"])
    assert exp.in_cohort == bool(row["in_cohort"])
    assert exp.n_scored == len(scored)
    assert exp.average_probability == pytest.approx(scored["score"].mean())


def test_reasons_match_the_run_level_explanations(run_dir):
    explain_run(run_dir, plots=False)
    long = pd.read_parquet(run_dir / "explanations.parquet")
    exp = explain_person(run_dir, "P00042", with_evidence=False)
    mine = long[long["person_id"] == "P00042"].set_index("indicator")
    for r in exp.reasons_up + exp.reasons_down:
        assert r.contribution_logodds == pytest.approx(mine.loc[r.indicator, "contribution"])
    positives = (mine["contribution"] > 0).sum()
    assert len(exp.reasons_up) == min(5, positives)


def test_what_if_recomputes_through_model_and_calibrator(run_dir, scored, indicators):
    pid = "P00010"
    exp = explain_person(run_dir, pid, with_evidence=False)
    feats = pd.read_parquet(run_dir / "features.parquet")
    booster = lgb.Booster(model_file=str(run_dir / "model" / "model.txt"))
    me = feats[feats["person_id"] == pid][indicators]
    others = scored.loc[scored["person_id"] != pid, "score"].to_numpy()
    assert exp.sensitivity, "expected at least one what-if"
    for w in exp.sensitivity:
        median = feats[w.indicator].median()
        changed = me.copy()
        changed[w.indicator] = median
        expected = float(_prob(booster.predict(changed, raw_score=True))[0])
        assert w.typical_value == median
        assert w.score == pytest.approx(expected)
        assert w.rank == 1 + int((others > expected).sum())
        if me[w.indicator].iloc[0] == median:
            assert w.score == pytest.approx(exp.score) and w.rank == exp.rank


def test_unknown_person_names_the_id_and_the_run(run_dir):
    with pytest.raises(UserError) as err:
        explain_person(run_dir, "NOBODY", with_evidence=False)
    assert "NOBODY" in str(err.value) and str(run_dir) in str(err.value)


def test_snapshot_choice(tmp_path, build_run):
    run = build_run(tmp_path, n=80, snapshots=("2023-01-01", "2024-01-01"))
    latest = explain_person(run, "P00001", with_evidence=False)
    assert latest.as_of == "2024-01-01" and any("--as-of" in n for n in latest.notes)
    assert latest.n_scored == 80
    early = explain_person(run, "P00001", as_of="2023-01-01", with_evidence=False)
    assert early.as_of == "2023-01-01" and early.score != latest.score
    with pytest.raises(UserError, match="2022-06-01"):
        explain_person(run, "P00001", as_of="2022-06-01", with_evidence=False)


def test_reason_text_uses_the_catalogue_template_with_the_stored_value(run_dir):
    from riskcohort.explain.labels import indicator_labels, render_reason
    from riskcohort.explain.reasons import points
    from riskcohort.features.catalogue import load_catalogue

    catalogue = {i.name: i for i in load_catalogue()}
    labels = indicator_labels(list(catalogue))
    feats = pd.read_parquet(run_dir / "features.parquet").set_index("person_id")
    for pid in ("P00001", "P00002", "P00003"):
        exp = explain_person(run_dir, pid, with_evidence=False)
        for r in exp.reasons_up + exp.reasons_down:
            stored = feats.loc[pid, r.indicator]
            if pd.isna(stored):
                assert r.value is None and "unknown" in r.text
                continue
            assert r.value == stored
            assert r.text.startswith(render_reason(labels[r.indicator], stored) + " - ")
            assert catalogue[r.indicator].name == r.indicator
            assert (" raises " in r.text) == (r.contribution_logodds > 0), r.text
            assert (" lowers " in r.text) == (r.contribution_logodds < 0), r.text
            size = points(r.effect_pp, signed=False)
            assert f"about {size} percentage points" in r.text or size == "<0.001"


def test_bad_date_and_unscored_person_are_user_errors(tmp_path, build_run):
    run = build_run(tmp_path, n=40)
    with pytest.raises(UserError, match="not a date"):
        explain_person(run, "P00001", as_of="yesterday", with_evidence=False)
    scores = pd.read_csv(run / "scores.csv", dtype={"person_id": str})
    republish(run, {L.SCORES: scores[scores["person_id"] != "P00002"]})
    with pytest.raises(UserError, match="scores.csv"):
        explain_person(run, "P00002", with_evidence=False)


def test_stored_score_that_the_model_does_not_reproduce_is_flagged(tmp_path, build_run):
    run = build_run(tmp_path, n=40)  # identity Platt calibrator: scores are the sigmoid
    assert not any("scores.csv says" in n
                   for n in explain_person(run, "P00003", with_evidence=False).notes)
    scores = pd.read_csv(run / "scores.csv", dtype={"person_id": str})
    scores.loc[scores["person_id"] == "P00003", "score"] += 0.05
    republish(run, {L.SCORES: scores})
    exp = explain_person(run, "P00003", with_evidence=False)
    assert any("scores.csv says" in n for n in exp.notes)
