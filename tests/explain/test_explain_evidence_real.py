"""Provenance through the real features stage: build -> run folder -> explain_person -> records.

A tiny hand-made dataset (persons + incidents) is turned into indicators by
``riskcohort.features.build``; a booster trained on random rows of the same columns is written
as a run folder; ``explain_person`` must list, via ``riskcohort.features.evidence``, exactly the
records behind each count it gives as a reason.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import riskcohort.features as features
from riskcohort import runfolder
from riskcohort.explain.person import explain_person
from riskcohort.explain.provenance import evidence_for
from riskcohort.explain.scored import load_scored as load_run
from riskcohort.runfolder import layout as L

T = pd.Timestamp("2024-01-01")
INCIDENT_COLS = ["incident_id", "occurred_at", "recorded_at", "perpetrator_id", "victim_id",
                 "relationship_id", "domestic", "offence", "weapon", "injury",
                 "children_present", "alcohol", "drugs", "order_id"]


def _dataset() -> dict[str, pd.DataFrame]:
    rows = [  # P1: 3 breaches known before T in the year, 1 recorded after T, 1 older than a year
        ("b1", "2023-03-01", "2023-03-01", "P1", "breach_of_order"),
        ("b2", "2023-06-01", "2023-06-02", "P1", "breach_of_order"),
        ("b3", "2023-12-20", "2023-12-21", "P1", "breach_of_order"),
        ("b4", "2023-12-30", "2024-01-03", "P1", "breach_of_order"),
        ("b5", "2022-06-01", "2022-06-01", "P1", "breach_of_order"),
        ("a1", "2023-05-01", "2023-05-01", "P2", "common_assault"),
    ]
    inc = pd.DataFrame([{
        "incident_id": i, "occurred_at": pd.Timestamp(o), "recorded_at": pd.Timestamp(r),
        "perpetrator_id": p, "victim_id": "V1", "relationship_id": None,
        "domestic": True, "offence": off, "weapon": None, "injury": None,
        "children_present": None, "alcohol": None, "drugs": None, "order_id": None,
    } for i, o, r, p, off in rows], columns=INCIDENT_COLS)
    for col in ("domestic", "children_present", "alcohol", "drugs"):
        inc[col] = inc[col].astype("boolean")
    persons = pd.DataFrame({"person_id": ["P1", "P2", "V1"], "birth_date": pd.NaT,
                            "sex": "unknown", "ethnicity": "unknown", "death_date": pd.NaT})
    persons["birth_date"] = persons["birth_date"].astype("datetime64[ns]")
    persons["death_date"] = persons["death_date"].astype("datetime64[ns]")
    return {"persons": persons, "incidents": inc}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    data = _dataset()
    feats = features.build(data, [T])
    names = [c for c in feats.columns if c not in ("person_id", "as_of")]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.poisson(0.8, (400, len(names))).astype(float), columns=names)
    y = (X["breach_count_365d"] + rng.normal(0, 0.5, 400) > 1).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1,
                         "min_data_in_leaf": 5}, lgb.Dataset(X, y), num_boost_round=20)
    writer = runfolder.RunWriter(tmp_path_factory.mktemp("realrun"), overwrite=True)
    booster.save_model(str(writer.path(L.MODEL_BOOSTER)))
    writer.write_json(L.MODEL_FEATURE_NAMES, names)
    writer.write_json(L.MODEL_CALIBRATOR, {"method": "platt", "a": 1.0, "b": 0.0})
    scores = feats[["person_id", "as_of"]].copy()
    scores["score"] = 1 / (1 + np.exp(-booster.predict(feats[names], raw_score=True)))
    scores["rank"] = scores["score"].rank(ascending=False, method="first").astype(int)
    scores["in_cohort"], scores["band"] = scores["rank"] == 1, "standard"
    writer.write_frame(L.SCORES, scores)
    writer.write_frame(L.FEATURES, feats)
    root = writer.publish(runfolder.Manifest(as_of=str(T.date())))
    return root, data, feats.set_index("person_id")


def test_breach_count_lists_exactly_its_records_known_before_t(real_run):
    root, data, feats = real_run
    assert feats.loc["P1", "breach_count_365d"] == 3
    exp = explain_person(root, "P1", data)
    assert "breach_count_365d" in {r.indicator for r in exp.reasons_up}
    records = exp.evidence["breach_count_365d"]
    assert len(records) == feats.loc["P1", "breach_count_365d"]
    assert {r["record_id"] for r in records} == {"b1", "b2", "b3"}
    assert all(pd.Timestamp(r["recorded_at"]) < T for r in records)


def test_every_count_reason_lists_as_many_records_as_its_value(real_run):
    root, data, feats = real_run
    for pid in ("P1", "P2"):
        exp = explain_person(root, pid, data)
        for r in exp.reasons_up + exp.reasons_down:
            if r.indicator in ("da_count_365d", "da_count_3y", "breach_count_365d"):
                assert len(exp.evidence[r.indicator]) == feats.loc[pid, r.indicator], r.indicator


def test_no_records_behind_an_indicator_gives_no_rows(real_run):
    root, data, feats = real_run
    assert feats.loc["P2", "breach_count_365d"] == 0
    grouped, notes = evidence_for(load_run(root), data, "P2", T, ["breach_count_365d"])
    assert grouped == {"breach_count_365d": []} and not notes
