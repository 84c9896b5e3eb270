"""riskcohort impact: design pieces, the selection ranking, the cut-off comparison, and the
estimator on a fixture force whose truth is known (a team picks its top people by a noisy score;
harm depends on the score only, or also on management). Fast: the point-in-time snapshot is
replaced by the fixture's scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.impact.fixture_force import fixture_dataset, quarter_records

from riskcohort.errors import UserError
from riskcohort.impact import cutoff, design, estimate, selection

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
    assert design.typical_days(p) == 273  # median of the ended periods (a: 273 days)
    units, counts = design.treated_units(p, "2023-01-01", "2023-12-31", T("2024-12-31"), 400)
    # a fixed window from the start for everyone (an open period is followed like the others)
    assert sorted(units.person_id) == ["a", "b"] and counts["still_open"] == 1
    assert (units["window_end"] - units["start"]).dt.days.tolist() == [400, 400]
    units, counts = design.treated_units(p, "2023-01-01", "2023-12-31", T("2023-06-30"), 400)
    assert len(units) == 0 and counts["window_not_complete"] == 2


def test_outcomes_count_only_inside_the_window():
    units = pd.DataFrame({"person_id": ["a", "a", "b"], "start": [T("2023-01-01")] * 3,
                          "window_end": [T("2024-01-01"), T("2023-03-01"), T("2024-01-01")]})
    events = pd.DataFrame({"person_id": ["a", "b"], "occurred": [T("2023-06-01"),
                                                                 T("2022-12-31")]})
    assert design.outcomes(units, events).tolist() == [1.0, 0.0, 0.0]


def test_agreement_and_month_rank():
    month = np.array([1, 1, 1, 1, 2, 2, 2])
    score = np.array([4.0, 3.0, 2.0, 1.0, 9.0, 1.0, 5.0])
    assert selection.month_rank(score, month).tolist() == [1, 2, 3, 4, 1, 3, 2]
    picked = np.array([True, False, True, False, True, False, False])
    # month 1: 2 picks, the top 2 hold one of them; month 2: 1 pick, held -> 2 of 3
    assert selection.agreement(score, picked, month) == pytest.approx(2 / 3)
    assert selection.agreement(-score, picked, month) == pytest.approx(1 / 3)


def test_cut_off_ratio_and_local_linear():
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    t = np.array([True] * 4 + [False] * 8)
    mu = np.array([0.5] * 4 + [0.25] * 8)
    w = np.ones(12)
    # observed/expected: treated 1/2, comparison 2/2 -> 0.5 (plain ratio 0.25/0.25 = 1)
    assert cutoff.oe_ratio(y, mu, t, w) == pytest.approx(0.5)
    r = np.arange(12, 0, -1) - 8.5  # > 0 above the cut
    yl = np.where(r > 0, 0.2 + 0.0 * r, 0.4 + 0.01 * r)  # a jump from 0.4 to 0.2 at the cut
    assert cutoff.local_linear(yl, r, w) == pytest.approx(0.5)
    assert cutoff.region(np.array([1, 4, 5]), np.array([2, 2, 2]), 1.0).tolist() == [
        True, True, False]


def _force(effect: float, seed: int, months=("2021-01-01", "2021-04-01", "2021-07-01",
                                            "2021-10-01", "2022-01-01", "2022-04-01")):
    """Fixture force: each quarter 2,000 candidates, the team picks its top 150 by a noisy
    version of the incumbent's score; harm over 18 months depends on that score (and on
    management when effect > 0)."""
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
        snaps.append(pd.DataFrame({"person_id": pid, "as_of": start, "incumbent": s,
                                   "other": other}))
        iv, inc = quarter_records(pid, start, picked, harm, rng)
        ivs.append(iv)
        incs.append(inc)
    ds = fixture_dataset(ivs, incs)
    snap = pd.concat(snaps, ignore_index=True)
    return ds, snap


def test_placebo_covers_one_and_naive_does_not(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.0, seed=1)
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=150)
    assert set(r) >= {"relative_risk", "lo", "hi", "n_managed", "n_comparison", "method",
                      "assumptions", "warnings"}
    assert r["lo"] <= 1 <= r["hi"], r
    assert r["naive_contrast"]["relative_risk"] > 2  # the picked are riskier to begin with
    assert r["n_managed"] > 300 and r["n_comparison"] > 300
    # the team's own ranking is a column the engine has: it is found and used
    assert r["selection"]["score"] == "incumbent", r["selection"]
    assert r["selection"]["agreement"]["incumbent"] > 0.5
    fake = r["checks"]["fake_cutoff"]
    assert fake["lo"] <= 1 <= fake["hi"], fake  # built-in falsification
    json.dumps(r)  # JSON-ready


def test_real_effect_is_found(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.6, seed=2)
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=150)
    assert r["hi"] < 1, r
    assert r["lo"] <= 0.4 / 1.0 * 1.5  # roughly the true 0.4


@pytest.mark.parametrize("recalibrate", [False, True])
def test_recalibration_is_an_explicit_option(fake_snapshot, recalibrate):
    ds, fake_snapshot["snap"] = _force(0.0, seed=1)
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=60,
                                 recalibrate=recalibrate)
    assert r["prognostic_recalibration"]["applied"] is recalibrate, r["prognostic_recalibration"]
    assert r["lo"] <= 1 <= r["hi"], r


def test_learned_ranking_when_no_named_one_fits(fake_snapshot):
    ds, snap = _force(0.0, seed=4)
    fake_snapshot["snap"] = snap.rename(columns={"incumbent": "indicator_x"})
    r = estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=60, rule="learned")
    assert r["selection"]["score"] == "learned" and r["selection"]["agreement"]["learned"] > 0.4
    assert r["checks"]["fake_cutoff"]["relative_risk"] is not None


def test_user_errors(fake_snapshot):
    ds, fake_snapshot["snap"] = _force(0.0, seed=3)
    with pytest.raises(UserError, match="kinds present"):
        estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", kind="marac")
    with pytest.raises(UserError, match="impact_complete_window"):
        estimate.estimate_impact(ds, "2024-01-01", "2024-06-30")
    with pytest.raises(UserError, match="date_order"):
        estimate.estimate_impact(ds, "2022-06-30", "2021-01-01")
    ds.tables.pop("interventions")
    with pytest.raises(UserError, match="interventions"):
        estimate.estimate_impact(ds, "2021-01-01", "2022-06-30")


def test_cli_refuses_unknown_selection_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from riskcohort.cli import app

    res = CliRunner().invoke(app, ["impact", str(tmp_path), "--from", "2021-01-01", "--to",
                                   "2022-01-01", "--selection", "oracle", "--out",
                                   str(tmp_path / "i.json")])
    assert res.exit_code == 2, res.output
    assert "selection_rule" in res.output and "Traceback" not in res.output
