"""Interventions (contract v1.1): management indicators, point in time (T = 2024-07-01)."""

import pandas as pd
import pytest

import riskcohort.features as features
from riskcohort.features.catalogue import names_with_role
from tests.features.feature_data import dataset

T = "2024-07-01"
NAMES = ("currently_managed", "days_since_management_ended", "past_management_periods")


def iv(nid, kind, start, end=None, rec=None, end_rec=None):
    return dict(intervention_id=nid, person_id="p", kind=kind, start_date=start, end_date=end,
                recorded_at=rec or start, end_recorded_at=end_rec)


def _build(rows, when=T):
    data = dataset(
        incidents=[dict(incident_id="i1", occurred_at="2024-01-01", recorded_at="2024-01-01",
                        perpetrator_id="p", victim_id="v")],
        **({"interventions": rows} if rows is not None else {}),
    )
    frame = features.build(data, [when])
    return frame.set_index("person_id").loc["p"]


def test_managed_now_and_past_periods():
    row = _build([
        iv("n1", "dapst_managed", "2024-05-01"),  # open
        iv("n2", "mappa", "2023-01-01", "2023-06-01", end_rec="2023-06-02"),  # ended
        iv("n3", "matac", "2023-09-01", "2024-06-11", end_rec="2024-06-12"),  # ended 20 days ago
        iv("n4", "dvpo", "2024-06-01", "2024-06-20", end_rec="2024-06-20"),  # not management
    ])
    assert row["currently_managed"] == 1.0
    assert row["past_management_periods"] == 2.0
    assert row["days_since_management_ended"] == 20.0


def test_end_known_only_once_recorded():
    # ended 2024-06-01 but the end was recorded after T: still managed as known at T
    row = _build([iv("n1", "dapst_managed", "2024-01-01", "2024-06-01", end_rec="2024-07-03")])
    assert row["currently_managed"] == 1.0
    assert row["past_management_periods"] == 0.0
    assert pd.isna(row["days_since_management_ended"])


def test_end_date_on_t_is_still_open_and_future_start_is_not():
    assert _build([iv("n1", "dapst_managed", "2024-01-01", T, end_rec="2024-06-01")])[
        "currently_managed"] == 1.0
    # recorded before T but starting after T: not managed yet
    assert _build([iv("n1", "dapst_managed", "2024-08-01", rec="2024-06-01")])[
        "currently_managed"] == 0.0


def test_intervention_recorded_after_t_changes_nothing():
    base = _build([])
    later = _build([iv("n1", "dapst_managed", "2024-05-01", rec="2024-07-02")])
    pd.testing.assert_series_equal(base[list(NAMES)], later[list(NAMES)])
    assert base["currently_managed"] == 0.0 and base["past_management_periods"] == 0.0


def test_absent_table_gives_nan():
    row = _build(None)
    for name in NAMES:
        assert pd.isna(row[name])


def test_evidence_lists_the_periods():
    data = dataset(
        incidents=[dict(incident_id="i1", occurred_at="2024-01-01", recorded_at="2024-01-01",
                        perpetrator_id="p", victim_id="v")],
        interventions=[iv("n1", "dapst_managed", "2024-05-01"),
                       iv("n2", "mappa", "2023-01-01", "2023-06-01", end_rec="2023-06-02")],
    )
    ev = features.evidence(data, "p", T, indicators=list(NAMES))
    got = ev.groupby("indicator")["record_id"].apply(sorted).to_dict()
    assert got == {"currently_managed": ["n1"], "days_since_management_ended": ["n2"],
                   "past_management_periods": ["n2"]}
    assert set(ev["table"]) == {"interventions"}


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_marks_them_as_interventions_not_risk(name):
    from riskcohort.features.catalogue import load_catalogue

    entry = {i.name: i for i in load_catalogue()}[name]
    assert name in names_with_role("intervention")
    assert entry.direction == 0 and "not risk" in entry.evidence.lower()
