"""Contract v1.1: custody time known at T does not count toward the 5-year lookback.

The seed's case (issue 14.4): the only domestic offence 7 years before T, a 6.5-year sentence,
released 60 days before T: scored, ``days_since_custody_release`` = 60, not in custody.
"""

import pandas as pd
import pytest

import riskcohort.features as features
from tests.features.feature_data import dataset

T = pd.Timestamp("2024-07-01")


def _day(days_before: float) -> pd.Timestamp:
    return (T - pd.Timedelta(days=days_before)).normalize()


def _case(custody: list[dict], offence_days_before: float = 7 * 365) -> dict:
    occ = _day(offence_days_before)
    return dataset(
        incidents=[dict(incident_id="i1", occurred_at=occ, recorded_at=occ + pd.Timedelta(hours=3),
                        perpetrator_id="p", victim_id="v", offence="gbh")],
        custody=custody,
    )


def _sentence(cid, start_before, end_before=None, kind="sentence"):
    return dict(custody_id=cid, person_id="p", start_date=_day(start_before),
                end_date=None if end_before is None else _day(end_before), kind=kind)


def _row(data, when=T):
    frame = features.build(data, [when])
    rows = frame[frame["person_id"] == "p"]
    return None if rows.empty else rows.iloc[0]


def test_released_prisoner_is_scored_with_days_since_release():
    # sentenced 60 days + 6.5 years before T, released 60 days before T
    row = _row(_case([_sentence("c1", 60 + 6.5 * 365, 60)]))
    assert row is not None
    assert row["days_since_custody_release"] == 60.0
    assert row["in_custody"] == 0.0


def test_without_custody_the_old_offence_is_outside_the_lookback():
    assert _row(_case([])) is None
    assert _row(_case([_sentence("c1", 400, 100)])) is None  # 300 days held: not enough


def test_lookback_counts_liberty_exactly():
    # offence 5 years + 100 days before T; 100 days held in between -> exactly 5 years at liberty
    row = _row(_case([_sentence("c1", 1000, 900)], offence_days_before=1825 + 100))
    assert row is not None
    assert _row(_case([_sentence("c1", 1000, 901)], offence_days_before=1825 + 100)) is None


def test_overlapping_periods_are_merged_not_double_counted():
    # remand and sentence overlapping: 200 days held in all, not 300
    custody = [_sentence("c1", 500, 350, "remand"), _sentence("c2", 450, 300)]
    assert _row(_case(custody, offence_days_before=1825 + 200)) is not None
    assert _row(_case(custody, offence_days_before=1825 + 201)) is None


def test_person_held_at_t_is_scored_and_flagged():
    # offence 6 years ago, held since 5.9 years ago, no release yet
    row = _row(_case([_sentence("c1", 5.9 * 365)], offence_days_before=6 * 365))
    assert row is not None
    assert row["in_custody"] == 1.0
    assert pd.isna(row["days_since_custody_release"])


def test_release_on_t_is_still_in_custody_at_t():
    row = _row(_case([_sentence("c1", 6.5 * 365, 0)]))  # end_date == T: not before T
    assert row is not None and row["in_custody"] == 1.0
    assert pd.isna(row["days_since_custody_release"])


@pytest.mark.parametrize("future", [
    _sentence("cf", -10, None),  # starts after T
    _sentence("cf", -1, -400),  # starts and ends after T
])
def test_future_custody_record_changes_nothing_at_t(future):
    """Leakage: a custody period starting on or after T moves no indicator and no membership."""
    old = 5 * 365 + 30  # just outside the plain lookback: only custody could bring it in
    base = _case([_sentence("c1", 3000, 2900)], offence_days_before=old)
    more = _case([_sentence("c1", 3000, 2900), future], offence_days_before=old)
    before = features.build(base, [T])
    after = features.build(more, [T])
    pd.testing.assert_frame_equal(before, after)
    # and one running over T counts only up to T (its end is unknown at T)
    long = _case([_sentence("c1", 60, -4000)], offence_days_before=1825 + 60)
    short = _case([_sentence("c1", 60, -1)], offence_days_before=1825 + 60)
    pd.testing.assert_frame_equal(features.build(long, [T]), features.build(short, [T]))
    assert _row(long)["in_custody"] == 1.0
