"""PSI against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskcohort.governance import drift


def test_psi_from_shares_by_hand():
    # (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5)
    want = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert drift.psi_from_shares([0.5, 0.5], [0.25, 0.75]) == pytest.approx(want)
    assert drift.psi_from_shares([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0


def test_psi_bins_on_previous_quantiles():
    previous = pd.Series(np.arange(100.0))  # median 49.5: two bins of 50
    current = pd.Series([10.0] * 75 + [90.0] * 25)
    e, a = drift.shares(previous, current, bins=2)
    assert e == pytest.approx([0.5, 0.5, 0.0]) and a == pytest.approx([0.75, 0.25, 0.0])
    want = 0.25 * math.log(1.5) + 0.25 * math.log(2)
    assert drift.psi(previous, current, bins=2) == pytest.approx(want, abs=1e-9)


def test_missing_values_are_their_own_bin():
    previous = pd.Series(np.arange(100.0))
    current = pd.Series([10.0] * 25 + [90.0] * 25 + [np.nan] * 50)
    # shares: previous [.5, .5, 0] vs current [.25, .25, .5]; the empty bin is floored at EPS
    eps = drift.EPS
    want = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.5 - eps) * math.log(0.5 / eps)
    assert drift.psi(previous, current, bins=2) == pytest.approx(want)
    assert drift.label(drift.psi(previous, current, bins=2)) == "major shift"


def test_identical_and_constant_columns_are_stable():
    s = pd.Series(np.random.default_rng(0).normal(size=500))
    assert drift.psi(s, s) == pytest.approx(0)
    assert drift.psi(pd.Series([1.0] * 50), pd.Series([1.0] * 80)) == pytest.approx(0)
    assert drift.psi(pd.Series([1.0] * 50), pd.Series([2.0] * 50)) > 0.25


def test_psi_table_sorted_and_read():
    prev = pd.DataFrame({"x": np.arange(200.0), "y": np.arange(200.0)})
    cur = pd.DataFrame({"x": np.arange(200.0), "y": np.arange(200.0) + 150})
    t = drift.psi_table(prev, cur, ["x", "y", "absent"])
    assert t["indicator"].tolist() == ["y", "x"]
    assert t["reading"].tolist() == ["major shift", "stable"]
