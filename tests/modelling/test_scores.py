"""scores.csv: strict ranking from a strictly increasing calibrator, ties marked and never split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.modelling import calibration
from riskcohort.modelling.iteration import SCORE_COLUMNS, score_frame


class FixedModel:
    """A fitted-model stand-in whose margins we choose (ties included)."""

    def __init__(self, margin):
        self.margin = np.asarray(margin, dtype=float)
        self.cal = {"method": "platt", "a": 1.0, "b": -2.0}

    def raw_margin(self, X):
        return self.margin

    def predict_risk(self, X):
        return calibration.apply(self.cal, self.margin)

    def predict_interval(self, X):
        return (calibration.apply(self.cal, self.margin - 0.5),
                calibration.apply(self.cal, self.margin + 0.5))


def _feats(n):
    return pd.DataFrame({"person_id": [f"P{i}" for i in range(n)],
                         "as_of": pd.Timestamp("2024-01-01")})


def test_ties_share_a_rank_are_marked_and_the_cohort_takes_them_whole():
    #        P0   P1   P2   P3   P4   P5   P6
    margin = [3.0, 2.0, 2.0, 2.0, 1.0, 0.5, 0.5]
    s = score_frame(FixedModel(margin), _feats(7), k=3, bands={"high": 0.5})
    assert s["rank"].tolist() == [1, 2, 2, 2, 5, 6, 6]
    assert s["tied"].tolist() == [False, True, True, True, False, True, True]
    # k = 3 would cut the three-way tie at rank 2; the cohort grows to 4 and says so
    assert s["in_cohort"].sum() == 4 and s.attrs["cohort"]["cohort_size"] == 4
    note = s.attrs["cohort"]["cohort_note"]
    assert "4 people, not 3" in note and "3 people share rank 2" in note
    assert (s["score_lo"] <= s["score"]).all() and (s["score"] <= s["score_hi"]).all()
    assert {"tied", "score_lo", "score_hi"} <= set(SCORE_COLUMNS)


def test_no_note_when_the_cut_falls_between_distinct_scores():
    s = score_frame(FixedModel([3.0, 2.0, 1.0, 1.0]), _feats(4), k=2, bands={})
    assert s["in_cohort"].tolist() == [True, True, False, False]
    assert s.attrs["cohort"] == {"k": 2, "cohort_size": 2, "cohort_note": ""}


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_are_strictly_increasing_in_the_margin(method):
    rng = np.random.default_rng(4)
    margin = rng.normal(size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(1.5 * margin - 4)))).astype(int)
    cal = calibration.fit(method, margin, y)
    grid = np.linspace(-8, 8, 4001)  # well beyond the fitted range on both sides
    p = calibration.apply(cal, grid)
    assert np.all(np.diff(p) > 0)
    # distinct people keep distinct scores: as many scores as margins
    assert len(np.unique(calibration.apply(cal, margin))) == len(np.unique(margin))
    # and the map is still a calibration: the mean probability matches the rate
    assert calibration.apply(cal, margin).mean() == pytest.approx(y.mean(), abs=0.01)


def test_step_isotonic_from_an_older_version_is_refused():
    with pytest.raises(ValueError, match="older"):
        calibration.apply({"method": "isotonic", "x": [0.0, 1.0], "y": [0.1, 0.2]},
                          np.array([0.5]))
