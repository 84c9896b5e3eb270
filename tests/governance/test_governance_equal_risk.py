"""Bias at equal true risk, on constructed data where we control the bias."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.governance import equal_risk, fairness


def population(bias: float, n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Group b has a higher base rate (true risk). With ``bias`` > 0, b's score is inflated at
    the same true risk (as when b's minor incidents are recorded more often)."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1])
    logit = rng.normal(-3, 1, n) + np.where(g == "b", 0.6, 0.0)
    true = 1 / (1 + np.exp(-logit))
    score = logit + rng.normal(0, 0.7, n) + np.where(g == "b", bias, 0.0)
    sel = pd.Series(score).rank(ascending=False, method="first") <= n // 10
    return pd.DataFrame({"group": g, "true_risk": true, "in_cohort": sel.to_numpy(),
                         "score": 1 / (1 + np.exp(-score)),
                         "serious_harm": (rng.random(n) < true).astype(int)})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unbiased_scores_raise_no_flag_even_with_different_base_rates(seed):
    f = population(bias=0.0, seed=seed)
    t = equal_risk.equal_risk(f, "group", score_col="score")
    assert not t["flag"].any(), t
    assert t["rank_z"].abs().max() < 4 and t["rank_shift"].abs().max() < 3
    assert t["ratio"].between(0.8, 1.25).all()
    # ...although the raw selection rate of b is far above overall: the plain audit flags it,
    # which is why the equal-risk check is needed to tell need from bias.
    raw = fairness.flags(fairness.audit(f, "group", n_boot=20))
    assert "b" in set(raw[raw["metric"] == "selection_rate"]["group"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inflated_scores_for_one_group_are_flagged(seed):
    t = equal_risk.equal_risk(population(bias=0.8, seed=seed), "group",
                              score_col="score").set_index("group")
    assert t.loc["b", "flag"] and t.loc["b", "ratio"] > 1.25
    assert t.loc["b", "rank_shift"] > 5 and t.loc["b", "rank_z"] > 5  # percentile points
    # a cohort has fixed size: the slots b gains are lost by the others (ratio below 1)
    assert t.loc["a", "ratio"] < 1 and t.loc["c", "ratio"] < 1
    out = equal_risk.flags(t.reset_index()).set_index("group")
    assert "same true risk" in out.loc["b", "reason"]


def test_expected_counts_by_hand():
    # two strata (risk 0.1 and 0.9); stratum rates 1/4 and 3/4
    f = pd.DataFrame({"g": ["x", "x", "y", "y", "x", "x", "y", "y"],
                      "r": [0.1] * 4 + [0.9] * 4,
                      "s": [1, 0, 0, 0, 1, 1, 1, 0]})
    t = equal_risk.equal_risk(f, "g", risk_col="r", selected_col="s", n_strata=2,
                              min_members=1).set_index("group")
    # x: 2 people in each stratum -> expected 2*0.25 + 2*0.75 = 2.0; observed 3
    assert t.loc["x", "expected"] == pytest.approx(2.0)
    assert t.loc["x", "selected"] == 3 and t.loc["x", "ratio"] == pytest.approx(1.5)
    var = 2 * 0.25 * 0.75 + 2 * 0.75 * 0.25
    assert t.loc["x", "z"] == pytest.approx(1 / np.sqrt(var))
    assert t.loc["y", "ratio"] == pytest.approx(0.5)
    assert not t["flag"].any()  # far too few people to judge
    assert t["small"].all()


def test_rank_shift_by_hand():
    # one stratum (constant risk): percentiles of scores 1..4 are 25, 50, 75, 100; mean 62.5
    f = pd.DataFrame({"g": ["x", "x", "y", "y"], "r": 0.1, "s": [0, 0, 0, 1],
                      "score": [4.0, 3.0, 2.0, 1.0]})
    t = equal_risk.equal_risk(f, "g", risk_col="r", selected_col="s", n_strata=1,
                              min_members=1, score_col="score").set_index("group")
    assert t.loc["x", "rank_shift"] == pytest.approx((100 + 75) / 2 - 62.5)
    assert t.loc["y", "rank_shift"] == pytest.approx((50 + 25) / 2 - 62.5)


def test_people_without_true_risk_are_counted_not_used():
    f = population(0.0, n=2000)
    f.loc[:99, "true_risk"] = np.nan
    t = equal_risk.equal_risk(f, "group")
    assert t.attrs["dropped"] == 100 and t["members"].sum() == 1900
