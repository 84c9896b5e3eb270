"""Scored population and outcome labels (horizon boundaries, labels_known_by)."""

import pandas as pd
import pytest

import riskcohort.features as features
from riskcohort.contract.harm import HARM_WEIGHTS as W
from riskcohort.errors import UserError
from tests.features.feature_data import dataset

T = "2023-01-01"


def inc(iid, perp, occ, rec=None, **kw):
    return dict(incident_id=iid, occurred_at=occ, recorded_at=rec or occ, perpetrator_id=perp,
                victim_id="v", **kw)


def test_population_rules():
    data = dataset(
        persons=[dict(person_id=p) for p in ("a", "b", "c", "d", "e", "v")]
        + [dict(person_id="dead", death_date="2022-12-31")],
        incidents=[
            inc("1", "a", "2022-06-01"),
            inc("2", "b", "2017-06-01"),  # recorded more than 5 years before T
            inc("3", "c", "2022-06-01", domestic=False),  # not domestic
            inc("4", "d", "2022-12-20", "2023-01-01"),  # recorded at T, not before
            inc("5", "dead", "2022-06-01"),
            inc("6", "e", "2022-06-01", "2022-12-31 23:00:00"),
        ],
    )
    frame = features.build(data, [T])
    assert sorted(frame["person_id"]) == ["a", "e"]
    wider = features.build(data, [T], lookback_days=3000)
    assert sorted(wider["person_id"]) == ["a", "b", "e"]


@pytest.fixture(scope="module")
def outcome_data():
    return dataset(incidents=[
        inc("base", "p", "2022-06-01"),
        inc("base_q", "q", "2022-06-01"),
        inc("base_r", "r", "2022-06-01"),
        inc("s1", "p", "2023-12-31 23:00:00", "2024-03-01", offence="gbh"),  # last hour
        inc("s2", "q", "2024-01-01", offence="homicide"),  # = T + 365: outside
        inc("s3", "r", "2022-12-31", "2023-01-02", offence="gbh"),  # before T
        inc("s4", "q", "2023-05-01", offence="gbh", domestic=False),
        inc("h1", "q", "2023-06-01", offence="abh"),
        inc("h2", "r", "2023-06-01", offence="homicide"),
        inc("late", "p", "2024-06-01", "2024-06-01"),
    ])


def _labels(data, **kw):
    frame = features.build(data, [T], labels=True, **kw)
    return frame.set_index("person_id")[["serious_harm", "homicide", "harm_weight"]]


def test_horizon_boundaries(outcome_data):
    lab = _labels(outcome_data)
    assert lab.loc["p"].tolist() == [1, 0, W["gbh"] + 0]
    assert lab.loc["q"].tolist() == [0, 0, W["abh"]]  # homicide at T+365 and non-DA gbh excluded
    assert lab.loc["r"].tolist() == [1, 1, W["homicide"]]
    assert lab["serious_harm"].dtype == "int64"


def test_domestic_only_off_and_custom_offences(outcome_data):
    lab = _labels(outcome_data, domestic_only=False)
    assert lab.loc["q", "serious_harm"] == 1
    lab = _labels(outcome_data, serious_offences=("abh",))
    assert lab.loc["q", "serious_harm"] == 1 and lab.loc["p", "serious_harm"] == 0


def test_labels_known_by(outcome_data):
    lab = _labels(outcome_data, labels_known_by="2024-02-01")
    assert lab.loc["p", "serious_harm"] == 0  # s1 only recorded 2024-03-01
    assert lab.loc["r", "homicide"] == 1


def test_horizon_must_be_observed(outcome_data):
    with pytest.raises(UserError, match="horizon"):
        features.build(outcome_data, ["2023-07-01"], labels=True)
    with pytest.raises(UserError, match="labels_known_by"):
        features.build(outcome_data, [T], labels=True, labels_known_by="2023-12-01")
    assert len(features.build(outcome_data, ["2023-07-01"])) > 0  # fine without labels


def test_labels_do_not_change_indicators(outcome_data):
    a = features.build(outcome_data, [T], labels=True)
    b = features.build(outcome_data, [T])
    pd.testing.assert_frame_equal(a[b.columns], b)


def test_horizon_may_end_at_the_end_of_the_latest_recorded_day(outcome_data):
    # latest record 2024-06-01 00:00: a horizon ending 2024-06-02 is observed, 2024-06-03 is not
    assert len(features.build(outcome_data, ["2023-06-03"], labels=True)) > 0
    with pytest.raises(UserError):
        features.build(outcome_data, ["2023-06-04"], labels=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keep_builds_only_the_kept_rows_with_the_same_values(seed):
    """Sampling while building (training's negative sampling) equals building all, then
    filtering: same rows in the same order, same values bit for bit, NaN where NaN."""
    import numpy as np

    from tests.features.feature_data import random_dataset

    data = random_dataset(np.random.default_rng(seed), n_persons=12, n_events=12)
    dates = ["2021-01-01", "2022-03-01", "2023-06-01"]
    kw = dict(labels=True, labels_known_by="2024-12-31", lookback_days=3000)
    whole = features.build(data, dates, **kw)
    seen = []

    def keep(frame):
        seen.append(list(frame.columns))
        pick = frame["person_id"].astype(str).str[-1].isin(["1", "3", "4", "8"])
        return (pick | (frame["serious_harm"] > 0)).to_numpy()

    part = features.build(data, dates, keep=keep, **kw)
    expected = whole.loc[keep(whole)].reset_index(drop=True)
    assert seen[0][:2] == ["person_id", "as_of"] and "serious_harm" in seen[0]
    assert 0 < len(part) < len(whole) and part.attrs["population_rows"] == len(whole)
    assert list(part.columns) == list(whole.columns)
    assert part["person_id"].tolist() == expected["person_id"].tolist()
    assert (part["as_of"] == expected["as_of"]).all()
    for col in part.columns.drop(["person_id", "as_of"]):
        assert np.array_equal(part[col].to_numpy(np.float64),
                              expected[col].to_numpy(np.float64), equal_nan=True), col


def test_population_built_in_passes_equals_all_at_once():
    """``chunk_rows`` (how a national snapshot stays in memory) changes nothing: the passes'
    frame equals the one-pass frame, bit for bit, with labels, with ``keep`` and without."""
    import numpy as np

    from tests.features.feature_data import random_dataset

    data = random_dataset(np.random.default_rng(5), n_persons=14, n_events=14)
    dates = ["2021-01-01", "2022-03-01", "2023-06-01"]

    def odd(frame):
        return frame["person_id"].astype(str).str[-1].isin(["1", "3", "5", "7", "9"]).to_numpy()

    for kw in (dict(labels=True, labels_known_by="2024-12-31", lookback_days=3000),
               dict(lookback_days=3000), dict(lookback_days=3000, keep=odd)):
        whole = features.build(data, dates, chunk_rows=None, **kw)
        assert len(whole) > 2 * 7, "the passes must split the population, unevenly"
        part = features.build(data, dates, chunk_rows=7, **kw)
        assert part["person_id"].tolist() == whole["person_id"].tolist()
        assert (part["as_of"] == whole["as_of"]).all()
        for col in whole.columns.drop(["person_id", "as_of"]):
            assert np.array_equal(part[col].to_numpy(np.float64),
                                  whole[col].to_numpy(np.float64), equal_nan=True), (kw, col)
        if "keep" in kw:
            assert len(whole) < whole.attrs["population_rows"]
