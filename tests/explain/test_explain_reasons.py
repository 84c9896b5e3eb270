"""Reason codes: sign, order, counts and sentences that match the stored numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from riskcohort.explain.calibration import sigmoid_calibration
from riskcohort.explain.labels import Label, format_value, render_reason
from riskcohort.explain.reasons import effect_pp, reason_codes

CAL = sigmoid_calibration("test")
LABELS = [Label(f"x{i}", f"Indicator {i}", f"{{value}} things of kind {i}", "count")
          for i in range(10)]
NUMBER = re.compile(r"^(\d+(?:\.\d+)?) things .* by (about (\d+\.\d)|less than 0\.1) percentage")


def _codes(seed):
    rng = np.random.default_rng(seed)
    values = rng.poisson(3, 10).astype(float)
    contrib = rng.normal(0, 0.5, 10)
    return values, contrib, reason_codes(values, contrib, -1.0 + contrib.sum(), CAL, LABELS)


@pytest.mark.parametrize("seed", range(5))
def test_up_and_down_are_signed_sorted_and_capped(seed):
    _, contrib, (up, down) = _codes(seed)
    assert len(up) == min(5, int((contrib > 0).sum()))
    assert len(down) == min(3, int((contrib < 0).sum()))
    assert all(r.contribution_logodds > 0 and r.effect_pp > 0 for r in up)
    assert all(r.contribution_logodds < 0 and r.effect_pp < 0 for r in down)
    for group in (up, down):
        sizes = [abs(r.contribution_logodds) for r in group]
        assert sizes == sorted(sizes, reverse=True)
    assert abs(up[0].contribution_logodds) == pytest.approx(contrib[contrib > 0].max())


@pytest.mark.parametrize("seed", range(5))
def test_sentence_numbers_are_the_stored_numbers(seed):
    values, contrib, (up, down) = _codes(seed)
    for r in up + down:
        i = int(r.indicator[1:])
        m = NUMBER.match(r.text)
        assert m, r.text
        assert float(m.group(1)) == values[i]
        if m.group(3):
            assert float(m.group(3)) == round(abs(r.effect_pp), 1)
        else:
            assert abs(r.effect_pp) < 0.1
        assert ("raises" in r.text) == (r.contribution_logodds > 0)


def test_effect_is_change_in_probability_when_the_contribution_is_removed():
    pp = effect_pp(0.5, 0.7, CAL)
    expected = 100 * (1 / (1 + np.exp(-0.5)) - 1 / (1 + np.exp(0.2)))
    assert float(pp) == pytest.approx(expected)


def test_value_formatting_and_templates():
    assert format_value(1.0, "flag") == "yes"
    assert format_value(0.0, "flag") == "no"
    assert format_value(2.50, "days") == "3"  # whole days, half up
    assert format_value(437.621, "days") == "438" and format_value(52.1478, "years") == "52"
    assert format_value(2.0, "grade (0-2)") == "high" and format_value(0.25, "ratio") == "0.2"
    lab = Label("d", "Days since last incident", "last incident {value:.0f} days ago ({unit})",
                "days")
    assert render_reason(lab, 12.4) == "last incident 12 days ago (days)"
    assert render_reason(lab, float("nan")) == "Days since last incident: unknown"
    assert render_reason(Label("d", "Desc", "{nope} and {value}"), 3) == "{nope} and 3"
