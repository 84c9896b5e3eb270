"""Evidence rows come from the same definitions as the values: counts match exactly."""

import gc
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskcohort.features as features
from riskcohort.contract import Dataset
from riskcohort.contract.harm import HARM_WEIGHTS as W
from riskcohort.features import evidence_cache
from riskcohort.features import relationship as rel
from riskcohort.features.defs import SPECS
from riskcohort.features.engine import AGE_NAME
from riskcohort.features.spec import (
    Active,
    Count,
    DaysSince,
    Distinct,
    Latest,
    LatestAge,
    Max,
    NewVictims,
    Open,
    Sum,
)
from tests.features.feature_data import dataset, random_dataset

COUNTED = {s.name for s in SPECS if type(s) in (Count, Active, Distinct, NewVictims)}
FLAGS = {s.name for s in SPECS if isinstance(s, Open)}  # 1 = at least one open period listed
COUNTED |= {s.name for s in (*rel.INCIDENT_SPECS, *rel.ASSESSMENT_SPECS) if type(s) is Count}
SUMS = {s.name for s in SPECS if isinstance(s, Sum)}
MAXES = {s.name for s in SPECS if isinstance(s, Max)}
ONE_ROW = {s.name for s in SPECS if isinstance(s, DaysSince | Latest | LatestAge)}


def _check(frame_row, ev):
    rows = ev.groupby("indicator").size()
    for name in COUNTED:  # NaN (no current relationship) has no rows either
        assert rows.get(name, 0) == np.nan_to_num(frame_row[name]), name
    for name in FLAGS:
        assert (rows.get(name, 0) > 0) == (frame_row[name] == 1), name
    for name in SUMS:
        kinds = ev.loc[ev["indicator"] == name, "kind"]
        assert math.isclose(sum(W[k] for k in kinds), frame_row[name]), name
    for name in MAXES:
        kinds = ev.loc[ev["indicator"] == name, "kind"]
        assert max((W[k] for k in kinds), default=0.0) == frame_row[name], name
    for name in ONE_ROW | set(rel.ATTRIBUTES):
        value = frame_row[name]
        expected = 0 if pd.isna(value) or (name in rel.ATTRIBUTES and value == 0) else 1
        assert rows.get(name, 0) == expected, name
    # escalation's two windows together cover the 3 years of da_count_3y
    assert rows.get("da_escalation", 0) == frame_row["da_count_3y"]


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_evidence_matches_values_on_random_data(seed):
    data = random_dataset(np.random.default_rng(seed))
    t = pd.Timestamp("2023-03-01")
    frame = features.build(data, [t])
    assert len(frame)
    for row in frame.to_dict("records"):
        _check(row, features.evidence(data, row["person_id"], t))


def test_two_breaches_listed_and_nothing_for_a_person_without_records():
    data = dataset(incidents=[
        dict(incident_id=i, occurred_at=d, recorded_at=d, perpetrator_id="p", victim_id="v",
             offence="breach_of_order") for i, d in (("b1", "2024-05-01"), ("b2", "2024-06-01"))
    ])
    ev = features.evidence(data, "p", "2024-07-01", indicators=["breach_count_365d"])
    assert sorted(ev["record_id"]) == ["b1", "b2"]
    assert list(ev.columns) == ["indicator", "table", "record_id", "recorded_at", "kind",
                                "victim_id"]
    assert features.evidence(data, "v", "2024-07-01").empty
    late = features.evidence(data, "p", "2024-05-15", indicators=["breach_count_365d"])
    assert late["record_id"].tolist() == ["b1"]


def test_age_evidence_is_the_person_record():
    data = dataset(
        persons=[dict(person_id="p", birth_date="1990-01-01"), dict(person_id="v")],
        incidents=[dict(incident_id="i", occurred_at="2024-01-01", recorded_at="2024-01-01",
                        perpetrator_id="p", victim_id="v")],
    )
    ev = features.evidence(data, "p", "2024-07-01", indicators=[AGE_NAME])
    assert ev["table"].tolist() == ["persons"]


def _as_dataset(tables, fingerprint="f"):
    return Dataset(root=Path("."), tables=dict(tables), absent=[], baseline_scores=None,
                   fingerprint=fingerprint)


@pytest.mark.parametrize("seed", [3, 11])
def test_cached_dataset_path_equals_a_fresh_uncached_call(seed):
    tables = random_dataset(np.random.default_rng(seed))
    data = _as_dataset(tables)
    t = pd.Timestamp("2023-03-01")
    people = sorted(set(tables["persons"]["person_id"]))
    for pid in people * 2:  # second round: from the prepared index
        cached = features.evidence(data, pid, t)
        fresh = features.evidence(tables, pid, t)  # a plain dict is never cached
        pd.testing.assert_frame_equal(cached, fresh)
    prepared = evidence_cache.prepared(data)
    assert prepared is not None and evidence_cache.prepared(data) is prepared  # built once
    assert evidence_cache.prepared(tables) is None


def test_datasets_do_not_share_a_cache_and_it_dies_with_them():
    def one(offence, incident_id):
        return dataset(incidents=[dict(incident_id=incident_id, occurred_at="2024-05-01",
                                       recorded_at="2024-05-01", perpetrator_id="p",
                                       victim_id="v", offence=offence)])

    before = evidence_cache.cached_count()
    a = _as_dataset(one("breach_of_order", "a1"), fingerprint="same")
    b = _as_dataset(one("breach_of_order", "b1"), fingerprint="same")
    ev_a = features.evidence(a, "p", "2024-07-01", indicators=["breach_count_365d"])
    ev_b = features.evidence(b, "p", "2024-07-01", indicators=["breach_count_365d"])
    assert ev_a["record_id"].tolist() == ["a1"] and ev_b["record_id"].tolist() == ["b1"]
    assert evidence_cache.prepared(a) is not evidence_cache.prepared(b)
    # a replaced table is seen (the index is rebuilt, not reused)
    a.tables["incidents"] = one("common_assault", "a2")["incidents"]
    assert features.evidence(a, "p", "2024-07-01", indicators=["breach_count_365d"]).empty
    assert evidence_cache.cached_count() == before + 2
    del a, b
    gc.collect()
    assert evidence_cache.cached_count() == before
