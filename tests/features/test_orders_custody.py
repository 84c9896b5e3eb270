"""Orders, breaches and custody on a hand-computed fixture (T = 2024-07-01)."""

import pytest

import riskcohort.features as features
from tests.features.feature_data import dataset

T = "2024-07-01"


def order(oid, kind, start, end=None, rec=None):
    return dict(order_id=oid, subject_id="p", protected_id="v", kind=kind, start_date=start,
                end_date=end, recorded_at=rec or start)


def breach(iid, occ, rec=None):
    return dict(incident_id=iid, occurred_at=occ, recorded_at=rec or occ, perpetrator_id="p",
                victim_id="v", offence="breach_of_order")


@pytest.fixture(scope="module")
def row():
    data = dataset(
        incidents=[breach("b1", "2024-06-10"), breach("b2", "2022-03-01"),
                   breach("b3", "2024-06-20", "2024-07-05")],  # b3 recorded after T
        orders=[
            order("o1", "dvpo", "2024-05-01", "2024-09-01"),
            order("o2", "non_molestation", "2024-01-01", "2024-03-01"),  # ended
            order("o3", "restraining", "2024-06-01", rec="2024-07-10"),  # recorded after T
            order("o4", "bail_conditions", "2024-06-15"),
        ],
        custody=[
            dict(custody_id="c1", person_id="p", start_date="2024-01-01", end_date="2024-04-01"),
            dict(custody_id="c2", person_id="p", start_date="2024-06-25", end_date=None),
            dict(custody_id="c3", person_id="p", start_date="2024-07-05", end_date="2024-07-06"),
        ],
    )
    return features.build(data, [T]).iloc[0]


def test_orders(row):
    assert row["active_protective_orders"] == 1.0
    assert row["bail_conditions_active"] == 1.0


def test_two_breaches(row):
    assert row["breach_count_365d"] == 1.0
    assert row["breach_count_3y"] == 2.0


def test_custody(row):
    assert row["days_since_custody_release"] == 91.0  # released 2024-04-01
    assert row["in_custody"] == 1.0  # c2 open; c3 starts after T
