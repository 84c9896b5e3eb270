"""History and severity indicators on a hand-computed fixture (T = 2024-07-01)."""

import math

import pytest

import riskcohort.features as features
from riskcohort.contract.harm import HARM_WEIGHTS as W
from tests.features.feature_data import dataset

T, T2 = "2024-07-01", "2024-08-01"


def inc(iid, occ, rec=None, **kw):
    return dict(incident_id=iid, occurred_at=occ, recorded_at=rec or occ, perpetrator_id="p",
                victim_id="v", **kw)


@pytest.fixture(scope="module")
def frame():
    data = dataset(incidents=[
        inc("i1", "2024-06-01", "2024-06-02", offence="abh", injury="minor", weapon="knife",
            children_present=True),
        # strangulation recorded after T: unknown at T, counted at T2
        inc("i2", "2024-05-01", "2024-07-15", offence="strangulation"),
        inc("i3", "2022-01-01", offence="common_assault"),
        inc("i4", "2023-01-01", offence="theft", domestic=False),
        inc("i5", "2024-03-01", offence="non_crime"),
        inc("i6", "2020-01-01", offence="gbh", injury="serious"),
        inc("i7", "2019-01-01", offence="threats_to_kill", domestic=False, weapon="firearm"),
        inc("i8", "2023-06-01", offence="drugs", domestic=False),
    ])
    out = features.build(data, [T, T2])
    return {str(r["as_of"].date()): r for r in out.to_dict("records")}


def test_recency_frequency(frame):
    r = frame[T]
    assert r["days_since_last_da"] == 30.0
    assert r["da_count_90d"] == 1.0  # i1 (i5 is 122 days before T)
    assert r["da_count_365d"] == 2.0  # i1, i5
    assert r["da_count_3y"] == 3.0  # i1, i5, i3
    # crimes in 3 years (non_crime excluded; i6, i7 too old), split three ways
    assert r["violence_count_3y"] == 2.0  # abh, common assault
    assert r["possession_count_3y"] == 1.0  # i8 drugs
    assert r["other_crime_count_3y"] == 1.0  # i4 theft
    assert r["children_present_3y"] == 1.0  # i1


def test_harm_and_gravity(frame):
    r = frame[T]
    assert r["harm_365d"] == W["abh"] + W["non_crime"]
    assert r["harm_3y"] == W["abh"] + W["non_crime"] + W["common_assault"]
    assert r["gravity_max_3y"] == W["abh"]


def test_escalation(frame):
    # last year: 2 incidents; 2 years before: 1 (i3) -> yearly rate 0.5
    assert math.isclose(frame[T]["da_escalation"], (2 + 1) / (0.5 + 1))


def test_severity_counts_and_late_recording(frame):
    r, r2 = frame[T], frame[T2]
    assert r["strangulation_count"] == 0.0 and r2["strangulation_count"] == 1.0
    assert r["threats_to_kill_count"] == 1.0  # non-domestic counts too
    assert r["knife_count"] == 1.0 and r["firearm_count"] == 1.0
    assert r["injury_count_3y"] == 1.0  # i6's serious injury is older than 3 years
    assert r2["days_since_last_da"] == 61.0  # i1 still the latest occurrence (i2 in May)
    assert r2["harm_365d"] == W["abh"] + W["non_crime"] + W["strangulation"]


def test_homicide_timeline_recency_windows(frame):
    r, r2 = frame[T], frame[T2]
    assert r2["strangulation_count_365d"] == 1.0 and r2["strangulation_count_3y"] == 1.0
    assert r["strangulation_count_365d"] == 0.0  # i2 not yet recorded at T
    # threats to kill in 2019: ever, but neither in 12 months nor in 3 years
    assert r["threats_to_kill_count"] == 1.0
    assert r["threats_to_kill_count_365d"] == 0.0 and r["threats_to_kill_count_3y"] == 0.0
    assert r["weapon_count_3y"] == 1.0  # i1 knife; i7's firearm is older than 3 years
