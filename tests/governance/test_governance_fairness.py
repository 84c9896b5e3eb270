"""The fairness audit: every number recomputed directly with pandas (independent of fairlearn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.governance import fairness


def frame(n=1500, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c", "tiny"], n, p=[0.6, 0.3, 0.097, 0.003])
    score = rng.beta(1, 12, n) * np.where(g == "b", 1.5, 1.0)
    y = (rng.random(n) < score).astype(int)
    sel = pd.Series(score).rank(ascending=False, method="first") <= 150
    return pd.DataFrame({"group": g, "score": score, "serious_harm": y, "in_cohort": sel.values})


def direct(f: pd.DataFrame, mask) -> dict:
    """Each metric straight from its definition."""
    d = f[mask]
    sel, y = d["in_cohort"].astype(bool), d["serious_harm"] == 1
    nan = float("nan")
    return {
        "selection_rate": sel.mean(),
        "recall": (sel & y).sum() / y.sum() if y.sum() else nan,
        "false_positive_rate": (sel & ~y).sum() / (~y).sum() if (~y).sum() else nan,
        "precision": (sel & y).sum() / sel.sum() if sel.sum() else nan,
        "observed": y.mean(),
        "predicted": d["score"].mean(),
        "calibration": y.sum() / d["score"].sum(),
        "members": len(d), "positives": int(y.sum()), "selected": int(sel.sum()),
    }


@pytest.fixture(scope="module")
def table():
    return fairness.audit(frame(), "group", n_boot=80, seed=1)


def test_every_value_and_ratio_matches_direct_recomputation(table):
    f = frame()
    overall = direct(f, np.ones(len(f), bool))
    assert set(table["group"]) == {"a", "b", "c", "tiny", fairness.OVERALL}
    for r in table.itertuples():
        mask = np.ones(len(f), bool) if r.group == fairness.OVERALL else f["group"] == r.group
        want = direct(f, mask)
        assert r.members == want["members"] and r.positives == want["positives"]
        assert r.selected == want["selected"]
        np.testing.assert_allclose(r.value, want[r.metric], rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(r.ratio, want[r.metric] / overall[r.metric], rtol=1e-9,
                                   equal_nan=True)


def test_intervals_contain_the_estimate_and_depend_on_the_seed(table):
    t = table.dropna(subset=["value", "lo", "hi"])
    assert len(t) > 20
    assert ((t["lo"] <= t["value"] + 1e-12) & (t["value"] <= t["hi"] + 1e-12)).all()
    assert (t["hi"] - t["lo"] > 0).any()
    again = fairness.audit(frame(), "group", n_boot=80, seed=1)
    other = fairness.audit(frame(), "group", n_boot=80, seed=2)
    pd.testing.assert_frame_equal(table, again)
    assert not np.allclose(table["lo"].fillna(0), other["lo"].fillna(0))
    big = t[(t["group"] == "a") & (t["metric"] == "selection_rate")].iloc[0]
    small = t[(t["group"] == "c") & (t["metric"] == "selection_rate")].iloc[0]
    assert big.hi - big.lo < small.hi - small.lo  # more people, narrower interval
    r = table[(table["group"] == "a") & (table["metric"] == "selection_rate")].iloc[0]
    assert r.ratio_lo < r.ratio < r.ratio_hi


def test_small_groups_are_marked_not_hidden(table):
    tiny = table[table["group"] == "tiny"]
    assert len(tiny) == len(fairness.METRICS) and tiny["members"].iloc[0] < fairness.MIN_MEMBERS
    assert tiny["small"].all()
    c = table[table["group"] == "c"].set_index("metric")
    assert c["members"].iloc[0] >= fairness.MIN_MEMBERS
    assert c.loc["selection_rate", "small"] == (c["members"].iloc[0] < fairness.MIN_MEMBERS)
    # outcome metrics also need enough positives
    assert c.loc["recall", "small"] == (c["positives"].iloc[0] < fairness.MIN_POSITIVES)
    assert not table[table["group"] == fairness.OVERALL]["small"].any()


def test_missing_group_values_are_audited_as_unknown():
    f = frame(300)
    f.loc[:9, "group"] = None
    t = fairness.audit(f, "group", n_boot=20)
    assert t[t["group"] == "unknown"]["members"].iloc[0] == 10


def test_without_outcomes_only_selection_and_score_are_reported():
    f = frame(400).drop(columns="serious_harm")
    t = fairness.audit(f, "group", n_boot=20)
    assert t[t["metric"].isin(fairness.LABEL_METRICS)]["value"].isna().all()
    assert t[t["metric"] == "selection_rate"]["value"].notna().all()


def _row(group, metric, ratio, small=False):
    return {"attribute": "g", "group": group, "metric": metric, "ratio": ratio,
            "ratio_lo": ratio - 0.1, "ratio_hi": ratio + 0.1, "small": small}


def test_flags_only_large_groups_outside_the_band():
    t = pd.DataFrame([
        _row("a", "selection_rate", 1.3),        # flagged: above 1.25
        _row("b", "false_positive_rate", 0.79),  # flagged: below 0.8
        _row("c", "selection_rate", 1.25),       # on the edge: not flagged
        _row("d", "recall", 0.8),                # on the edge: not flagged
        _row("e", "selection_rate", 3.0, small=True),  # too small to judge
        _row("f", "observed", 2.0),              # base rate: context, never flagged
        _row(fairness.OVERALL, "recall", 5.0),   # the overall row is never flagged
        _row("g", "precision", float("nan")),    # unknown: not flagged
    ])
    out = fairness.flags(t)
    assert sorted(zip(out["group"], out["metric"], strict=True)) == [
        ("a", "selection_rate"), ("b", "false_positive_rate")]
    assert "1.300 x overall" in out.set_index("group").loc["a", "reason"]


def test_audit_flags_a_group_selected_at_double_the_rate():
    rng = np.random.default_rng(0)
    g = np.repeat(["x", "y"], [1000, 1000])
    sel = np.concatenate([rng.random(1000) < 0.25, rng.random(1000) < 0.1])
    f = pd.DataFrame({"group": g, "score": 0.1, "in_cohort": sel, "serious_harm": 0})
    out = fairness.flags(fairness.audit(f, "group", label_col=None, n_boot=50))
    assert set(out[out["metric"] == "selection_rate"]["group"]) == {"x", "y"}


def test_rows_without_a_known_outcome_are_left_out():
    f = frame(600)
    f["serious_harm"] = f["serious_harm"].astype(float)
    f.loc[:99, "serious_harm"] = np.nan
    t = fairness.audit(f, "group", n_boot=20).set_index(["group", "metric"])
    kept = f.iloc[100:]
    assert t.loc[(fairness.OVERALL, "recall"), "members"] == 500
    assert t.loc[(fairness.OVERALL, "recall"), "value"] == pytest.approx(
        direct(kept, np.ones(500, bool))["recall"])
