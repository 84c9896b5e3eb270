"""riskcohort impact: design pieces, matching, and the estimator on a fixture force whose truth
is known (a team picks its top people by a noisy score; harm depends on the score only, or also
on management). Fast: the point-in-time snapshot is replaced by the fixture's scores."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.impact import design, estimate, matching

T = pd.Timestamp


def test_periods_merge_and_windows():
    iv = pd.DataFrame({
        "person_id": ["a", "a", "b", "c"], "kind": ["dapst_managed"] * 3 + ["marac"],
        "start_date": [T("2023-01-01"), T("2023-04-01"), T("2023-01-01"), T("2023-01-01")],
        "end_date": [T("2023-07-01"), T("2023-10-01"), pd.NaT, T("2023-02-01")],
    })
    p = design.periods_of(iv, "dapst_managed")
    a = p.loc[p.person_id == "a"]
    assert len(a) == 1 and a["end"].iloc[0] == T("2023-10-01")  # re-pick extends the period
    assert design.managed_on(p, T("2024-06-01")) == {"b"}  # open period never ends
    units, counts = design.treated_units(p, "2023-01-01", "2023-12-31", T("2024-12-31"))
    assert list(units.person_id) == ["a"] and counts["still_open"] == 1
    units, counts = design.treated_units(p, "2023-01-01", "2023-12-31", T("2024-06-30"))
    assert len(units) == 0 and counts["window_not_complete"] == 1


def test_outcomes_count_only_inside_the_window():
    units = pd.DataFrame({"person_id": ["a", "a", "b"], "start": [T("2023-01-01")] * 3,
                          "window_end": [T("2024-01-01"), T("2023-03-01"), T("2024-01-01")]})
    events = pd.DataFrame({"person_id": ["a", "b"], "occurred": [T("2023-06-01"),
                                                                 T("2022-12-31")]})
    assert design.outcomes(units, events).tolist() == [1.0, 0.0, 0.0]


def test_match_same_month_within_caliper():
    month = np.array([1, 1, 1, 2, 2])
    score = np.array([0.0, 0.05, 0.9, 0.0, 0.5])
    picked = np.array([True, False, False, True, False])
    t, c = matching.match(month, score, picked, caliper=0.1, k=2)
    assert t.tolist() == [0] and c.tolist() == [1]  # month 2's candidate is too far


def _force(effect: float, seed: int, months=("2021-01-01", "2021-04-01", "2021-07-01",
                                            "2021-10-01", "2022-01-01", "2022-04-01")):
    """Fixture force: each quarter 2,000 candidates, the team picks its top 150 by a noisy
    score; harm over 18 months depends on the score (and on management when effect > 0)."""
    rng = np.random.default_rng(seed)
    snaps, ivs, incs = [], [], []
    for q, m in enumerate(months):
        n, start = 2000, T(m)
        s = rng.normal(size=n)
        team = s + rng.normal(scale=0.7, size=n)
        picked = np.zeros(n, bool)
        picked[np.argsort(-team)[:150]] = True
        p = 1 / (1 + np.exp(-(-2.5 + 1.0 * s))) * np.where(picked, 1 - effect, 1.0)
        harm = rng.random(n) < p
        pid = np.array([f"P{q}_{i}" for i in range(n)])
        other = rng.normal(size=n)  # an indicator the team did not use
        snaps.append(pd.DataFrame({"person_id": pid, "as_of": start, "score": s,
                                   "other": other}))
        ivs.append(pd.DataFrame({"person_id": pid[picked], "kind": "dapst_managed",
                                 "start_date": start, "end_date": start + pd.DateOffset(months=6)}))
        days = rng.integers(0, 540, harm.sum())
        incs.append(pd.DataFrame({"perpetrator_id": pid[harm], "offence": "gbh", "domestic": True,
                                  "occurred_at": start + pd.to_timedelta(days, "D"),
                                  "recorded_at": start + pd.to_timedelta(days + 1, "D")}))
    incs.append(pd.DataFrame({"perpetrator_id": ["X"], "offence": ["abh"], "domestic": [True],
                              "occurred_at": [T("2024-12-30")], "recorded_at": [T("2024-12-31")]}))
    iv = pd.concat(ivs, ignore_index=True)
    iv["intervention_id"] = [f"V{i}" for i in range(len(iv))]
    ds = SimpleNamespace(root=Path("fixture"), tables={
        "incidents": pd.concat(incs, ignore_index=True), "interventions": iv})
    snap = pd.concat(snaps, ignore_index=True)
    return ds, snap


@pytest.fixture
def fake_snapshot(monkeypatch):
    state = {}
    monkeypatch.setattr(estimate, "_snapshot", lambda ds, months: state["snap"].loc[
        state["snap"]["as_of"].isin(months)].reset_index(drop=True))
    return state


def test_placebo_covers_one_and_naive_does_not(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.0, seed=1)
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=150)
    assert set(r) >= {"relative_risk", "lo", "hi", "n_managed", "n_comparison", "method",
                      "assumptions", "warnings"}
    assert r["lo"] <= 1 <= r["hi"], r
    assert r["naive_contrast"]["relative_risk"] > 2  # the picked are riskier to begin with
    assert r["n_managed"] > 300 and r["n_comparison"] > 300
    json.dumps(r)  # JSON-ready


def test_real_effect_is_found(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.6, seed=2)
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=150)
    assert r["hi"] < 1, r
    assert r["lo"] <= 0.4 / 1.0 * 1.5  # roughly the true 0.4


def test_user_errors(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.0, seed=3)
    with pytest.raises(UserError, match="kinds present"):
        estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", kind="marac")
    with pytest.raises(UserError, match="impact_complete_window"):
        estimate.estimate_impact(ds, "2024-01-01", "2024-06-30")
    ds.tables.pop("interventions")
    with pytest.raises(UserError, match="interventions"):
        estimate.estimate_impact(ds, "2021-01-01", "2022-06-30")
