"""decide_promotion: the promote / keep / calibration-fail rule, as a pure function."""

from __future__ import annotations

import math

import pytest

from riskcohort.tracking.promotion import decide_promotion, markdown


@pytest.mark.parametrize("interval", [(0.02, -0.01, 0.05), (0.0, -0.04, 0.0), (0.05, 0.01, 0.1)])
def test_promotes_when_not_worse_and_calibrated(interval):
    d = decide_promotion(interval, ece=0.004, slope=0.95)
    assert d.promote
    assert d.recall_diff_lo == interval[1]


@pytest.mark.parametrize("interval", [(-0.05, -0.09, -0.001), (-0.2, -0.3, -0.1)])
def test_keeps_champion_when_interval_entirely_below_zero(interval):
    d = decide_promotion(interval, ece=0.004, slope=1.0)
    assert not d.promote
    assert "worse than the champion" in d.reasons[0]


@pytest.mark.parametrize(("ece", "slope", "why"), [
    (0.02, 1.0, "ECE"), (0.004, 0.7, "slope"), (0.004, 1.25, "slope"), (math.nan, 1.0, "ECE")])
def test_calibration_failure_blocks_promotion(ece, slope, why):
    d = decide_promotion((0.05, 0.01, 0.09), ece=ece, slope=slope)
    assert not d.promote
    assert any(why in r for r in d.reasons)


def test_thresholds_are_configurable():
    args = ((0.05, 0.01, 0.09),)
    assert not decide_promotion(*args, ece=0.02, slope=1.0).promote
    assert decide_promotion(*args, ece=0.02, slope=1.0, ece_max=0.03).promote
    assert decide_promotion(*args, ece=0.004, slope=1.3, slope_range=(0.7, 1.4)).promote


def test_first_model_becomes_champion_and_missing_interval_keeps():
    assert decide_promotion(None, ece=0.5, slope=3.0, champion_exists=False).promote
    assert not decide_promotion(None, ece=0.004, slope=1.0).promote


def test_markdown_states_verdict_and_numbers():
    d = decide_promotion((-0.05, -0.09, -0.01), ece=0.004, slope=1.0, k=50)
    text = markdown(d, dry_run=True)
    assert "KEEP the current champion" in text and "dry run" in text
    assert "-0.090" in text and "recall@50" in text
