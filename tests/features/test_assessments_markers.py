"""Assessments, markers, referrals and victims on hand-computed fixtures (T = 2024-07-01)."""

import math

import pytest

import riskcohort.features as features
from tests.features.feature_data import dataset

T = "2024-07-01"


def ra(aid, when, grade, **qs):
    return dict(assessment_id=aid, assessed_at=when, perpetrator_id="p", victim_id="v",
                grade=grade, **qs)


@pytest.fixture(scope="module")
def row():
    data = dataset(
        incidents=[
            dict(incident_id="i1", occurred_at="2024-06-01", recorded_at="2024-06-01",
                 perpetrator_id="p", victim_id="v1", relationship_id="r1"),
            dict(incident_id="i2", occurred_at="2024-05-01", recorded_at="2024-05-01",
                 perpetrator_id="p", victim_id="v1", relationship_id="r1"),
            dict(incident_id="i3", occurred_at="2024-04-01", recorded_at="2024-04-01",
                 perpetrator_id="p", victim_id="v2", relationship_id="r2"),
            dict(incident_id="i4", occurred_at="2020-06-01", recorded_at="2020-06-01",
                 perpetrator_id="p", victim_id="v3"),
            dict(incident_id="i5", occurred_at="2024-01-01", recorded_at="2024-01-01",
                 perpetrator_id="p", victim_id="v4", domestic=False),
        ],
        relationships=[
            dict(relationship_id="r1", person_a_id="p", person_b_id="v1", kind="intimate",
                 recorded_at="2024-05-01"),
            # family relationship only recorded after T: its kind is unknown at T
            dict(relationship_id="r2", person_a_id="p", person_b_id="v2",
                 kind="family_parent_child", recorded_at="2024-07-20"),
        ],
        risk_assessments=[
            ra("a1", "2024-03-01", "high", q_strangulation=True, q_separation=True),
            ra("a2", "2024-05-01", "medium", q_strangulation=False),
            ra("a3", "2022-01-01", "high", q_weapon=True),
            ra("a4", "2024-07-10", "high", q_stalking=True),  # after T
        ],
        markers=[
            dict(marker_id="m1", person_id="p", kind="alcohol", recorded_at="2024-01-01",
                 expires_at="2024-06-01"),  # expired before T
            dict(marker_id="m2", person_id="p", kind="mental_health", recorded_at="2024-02-01"),
            dict(marker_id="m3", person_id="p", kind="suicide_self_harm",
                 recorded_at="2024-07-02"),  # after T
            dict(marker_id="m4", person_id="p", kind="drugs", recorded_at="2024-02-01",
                 expires_at="2024-12-01"),
        ],
        referrals=[
            # MARAC referral of v1 (victim of two of p's DA incidents): counted once
            dict(referral_id="f1", person_id="v1", kind="marac", role="victim",
                 referred_at="2024-03-01"),
            dict(referral_id="f2", person_id="v4", kind="marac", role="victim",
                 referred_at="2024-03-01"),  # v4 was victim of a non-domestic incident
            dict(referral_id="f4", person_id="v1", kind="marac", role="victim",
                 referred_at="2024-07-05"),  # after T
            dict(referral_id="f3", person_id="p", kind="mappa", referred_at="2024-07-05"),
            dict(referral_id="f5", person_id="p", kind="mental_health", referred_at="2023-07-05"),
        ],
    )
    return features.build(data, [T]).set_index("person_id").loc["p"]


def test_assessments(row):
    assert row["dash_high_12m"] == 1.0
    assert row["dash_high_ever"] == 2.0
    assert row["dash_latest_grade"] == 1.0  # a2 medium; a4 not yet assessed
    assert row["days_since_last_high_grade"] == 122.0
    assert row["ra_strangulation_yes"] == 1.0
    # windows: a1 (4 months before T) in both; a3 (2.5 years) only in 3 years; a4 after T
    assert row["ra_separation_12m"] == 1.0 and row["ra_separation_3y"] == 1.0
    assert row["ra_weapon_12m"] == 0.0 and row["ra_weapon_3y"] == 1.0
    assert row["ra_stalking_12m"] == 0.0 and row["ra_stalking_3y"] == 0.0
    assert row["ra_strangulation_12m"] == 1.0  # a2 answered no: not counted


def test_markers_and_referrals(row):
    assert row["marker_alcohol"] == 0.0  # expired
    assert row["marker_mental_health"] == 1.0
    assert row["marker_suicide_self_harm"] == 0.0  # recorded after T
    assert row["marker_drugs"] == 1.0
    assert row["referral_marac"] == 1.0
    assert row["referral_mappa"] == 0.0  # referred after T
    assert row["referral_mental_health"] == 1.0


def test_victims(row):
    assert row["distinct_victims_ever"] == 3.0  # v1, v2, v3 (v4 not domestic)
    assert row["distinct_victims_3y"] == 2.0
    assert row["distinct_intimate_victims"] == 1.0
    assert row["distinct_family_victims"] == 0.0  # r2 recorded after T
    assert math.isnan(row["age_at_as_of"])
