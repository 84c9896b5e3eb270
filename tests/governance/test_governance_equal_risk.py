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


def test_top_k_share_shares_a_tied_group_at_the_cut_off():
    share = equal_risk.top_k_share([5.0, 4.0, 4.0, 4.0, 1.0, np.nan], 3)
    assert share.tolist() == pytest.approx([1.0, 2 / 3, 2 / 3, 2 / 3, 0.0, 0.0])
    assert share.sum() == pytest.approx(3)  # the cohort keeps its size
    assert equal_risk.top_k_share([np.nan, np.nan], 1).tolist() == [0.0, 0.0]  # unscored


def test_cutoffs_add_the_wide_look_only_when_it_is_wider_than_k():
    assert equal_risk.cutoffs(100_000, 100) == [100, 2000]
    assert equal_risk.cutoffs(3_000, 100) == [100]


@pytest.mark.parametrize("seed", [0, 1])
def test_by_system_flags_the_inflated_ranking_and_not_the_clean_one(seed):
    f = population(bias=0.0, seed=seed)
    rng = np.random.default_rng(seed + 10)
    logit = np.log(f["true_risk"] / (1 - f["true_risk"]))
    # a "volume" ranking that over-counts group b, as recording bias does, beside a clean one
    f["volume"] = logit + rng.normal(0, 0.7, len(f)) + np.where(f["group"] == "b", 0.8, 0.0)
    t = equal_risk.by_system(f.rename(columns={"group": "ethnicity"}),
                             {"model": "score", "volume": "volume"}, k=300)
    assert t.attrs["cutoffs"] == [300] and t.attrs["looks"] == 2
    found = equal_risk.flags(t)
    assert set(found["system"]) == {"volume"}  # the clean ranking is never flagged
    over = found[found["ratio"] > 1]
    assert set(over["group"]) == {"b"}  # others can only lose the slots b gains (ratio < 1)
    assert over["reason"].str.startswith("volume top 300: ethnicity=b").all()
    row = t[(t["system"] == "volume") & (t["group"] == "b")].iloc[0]
    assert row["ratio"] > 1.25 and row["z"] > 4


def test_by_system_shares_alpha_over_every_look():
    f = population(bias=0.2, seed=0).rename(columns={"group": "ethnicity"})
    one = equal_risk.by_system(f, {"model": "score"}, k=300)
    many = equal_risk.by_system(f, {f"copy{i}": "score" for i in range(40)}, k=300)
    b_one = one[one["group"] == "b"].iloc[0]
    b_many = many[many["group"] == "b"]
    # same ratio and p for each copy, but a stricter threshold with 40 looks
    assert (b_many["p_value"] == b_one["p_value"]).all()
    assert b_one["p_value"] < 0.01 / 3 and b_one["ratio"] > 1.25, b_one
    assert b_one["flag"] and not b_many["flag"].any()
