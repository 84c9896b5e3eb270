"""Evidence rows come from the same definitions as the values: counts match exactly."""

import math

import numpy as np
import pandas as pd
import pytest

import riskcohort.features as features
from riskcohort.features import relationship as rel
from riskcohort.features.defs import SPECS
from riskcohort.features.engine import AGE_NAME
from riskcohort.features.harm import HARM_WEIGHTS as W
from riskcohort.features.spec import Active, Count, DaysSince, Distinct, Latest, Max, Sum
from tests.features.feature_data import dataset, random_dataset

COUNTED = {s.name for s in SPECS if type(s) in (Count, Active, Distinct)}
COUNTED |= {s.name for s in (*rel.INCIDENT_SPECS, *rel.ASSESSMENT_SPECS) if type(s) is Count}
SUMS = {s.name for s in SPECS if isinstance(s, Sum)}
MAXES = {s.name for s in SPECS if isinstance(s, Max)}
ONE_ROW = {s.name for s in SPECS if isinstance(s, DaysSince | Latest)}


def _check(frame_row, ev):
    rows = ev.groupby("indicator").size()
    for name in COUNTED:  # NaN (no current relationship) has no rows either
        assert rows.get(name, 0) == np.nan_to_num(frame_row[name]), name
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
