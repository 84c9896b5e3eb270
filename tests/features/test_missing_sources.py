"""Absent optional tables give NaN indicators (not 0) and a note naming the source."""

import math

import riskcohort.features as features
from riskcohort.features.catalogue import load_catalogue
from tests.features.feature_data import dataset


def test_absent_tables_are_nan_and_noted():
    data = dataset(incidents=[dict(incident_id="i", occurred_at="2024-01-01",
                                   recorded_at="2024-01-01", perpetrator_id="p", victim_id="v")])
    row = features.build(data, ["2024-02-01"]).iloc[0]
    notes = features.build(data, ["2024-02-01"]).attrs["notes"]
    for ind in load_catalogue():
        optional = set(ind.sources) - {"incidents", "persons"}
        if optional:
            assert math.isnan(row[ind.name]), ind.name
        elif ind.name.startswith("da_count"):
            assert row[ind.name] == 1.0
    for table in ("risk_assessments", "orders", "custody", "markers", "referrals",
                  "relationships"):
        assert f"absent source: {table}" in notes


def test_present_but_empty_table_gives_zero_not_nan():
    data = dataset(
        incidents=[dict(incident_id="i", occurred_at="2024-01-01", recorded_at="2024-01-01",
                        perpetrator_id="p", victim_id="v")],
        orders=[],
    )
    frame = features.build(data, ["2024-02-01"])
    assert frame.loc[0, "active_protective_orders"] == 0.0
    assert "absent source: orders" not in frame.attrs["notes"]


def test_empty_population_has_the_same_columns_and_dtypes():
    data = dataset(incidents=[dict(incident_id="i", occurred_at="2024-01-01",
                                   recorded_at="2024-01-01", perpetrator_id="p", victim_id="v")])
    empty = features.build(data, ["2023-01-01"])
    full = features.build(data, ["2024-02-01"])
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    assert (empty.dtypes == full.dtypes).all()
