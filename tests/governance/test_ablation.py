"""Proxy ablation (issue 16.3): every proxy indicator dropped; the pack's numbers recomputed."""

from __future__ import annotations

import jinja2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskcohort.features.catalogue import proxy_risk_names
from riskcohort.governance import ablation
from riskcohort.governance.equal_risk import equal_risk, top_k_share

FEATURES = ["da_count_3y", "harm_365d", "strangulation_count_365d", "marker_drugs",
            "possession_count_3y", "marker_mental_health", "referral_mental_health"]
SPEC = {"fixed": {"objective": "binary", "num_threads": 1, "learning_rate": 0.1},
        "search": {"n_trials": 1, "num_leaves": [7]}, "monotone": {"use_catalogue": True}}
HP = {"num_leaves": 7, "min_child_samples": 20, "num_boost_round": 30}


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({c: rng.poisson(1.0, n).astype(float) for c in FEATURES})
    f["ethnicity"] = rng.choice(["white", "black", "asian"], n, p=[0.7, 0.2, 0.1])
    # recording bias: black people's drug/possession records inflated at the same true risk
    bias = (f["ethnicity"] == "black").to_numpy() * rng.poisson(1.5, n)
    f["possession_count_3y"] += bias
    f["marker_drugs"] += bias
    f["true_risk"] = 1 / (1 + np.exp(-(-4 + 0.6 * f["da_count_3y"] + 0.8 * f["harm_365d"]
                                      + 0.3 * (f["marker_drugs"] - bias))))
    f["serious_harm"] = (rng.random(n) < f["true_risk"]).astype(int)
    f["person_id"] = [f"p{seed}_{i}" for i in range(n)]
    return f


@pytest.fixture(scope="module")
def result() -> dict:
    train, test = _frame(3000, 1), _frame(1500, 2)
    return ablation.ablate(train, np.ones(len(train)), test, FEATURES, SPEC, HP, k=60,
                           n_boot=40, boot_seed=3) | {"test": test}


def test_every_proxy_indicator_is_dropped(result):
    proxies = set(proxy_risk_names())
    assert set(result["dropped"]) == proxies & set(FEATURES)
    assert len(result["dropped"]) == 4
    assert not proxies & set(result["without_features"])
    assert result["features_without"] == len(FEATURES) - 4
    train = _frame(500, 5)
    b1, b0, dropped = ablation.refit_without_proxies(train, np.ones(len(train)), FEATURES, SPEC,
                                                     HP, seed=0)
    assert b1.feature_name() == FEATURES
    assert not proxies & set(b0.feature_name())
    assert set(b0.feature_name()) | set(dropped) == set(FEATURES)


def test_numbers_equal_recomputed(result):
    test, by = result["test"], {r["metric"]: r for r in result["rows"]}
    y = test["serious_harm"].to_numpy()
    s1, s0 = result["with_score"], result["without_score"]
    assert by["auc"]["with"] == pytest.approx(roc_auc_score(y, s1))
    assert by["auc"]["without"] == pytest.approx(roc_auc_score(y, s0))
    for s, key in ((s1, "with"), (s0, "without")):
        share = top_k_share(s, 60)  # a tied group at the cut-off counts for the share that fits
        assert share.sum() == pytest.approx(60)
        assert by["recall"][key] == pytest.approx((share * y).sum() / y.sum())
        f = test[["ethnicity", "true_risk"]].assign(sel=top_k_share(s, result["k_equal_risk"]))
        t = equal_risk(f, "ethnicity", risk_col="true_risk", selected_col="sel")
        ratio = float(t.loc[t["group"] == "black", "ratio"].iloc[0])
        assert by["ratio:black"][key] == pytest.approx(ratio)
    for r in result["rows"]:
        assert r["difference"] == pytest.approx(r["with"] - r["without"])
        lo, hi = r["with_ci"]
        assert lo <= hi
    # the injected recording bias travels through the proxies: removing them lowers the ratio
    assert by["ratio:black"]["with"] > by["ratio:black"]["without"]


def test_section_shows_the_recomputed_numbers(result):
    from riskcohort import display

    env = jinja2.Environment(loader=jinja2.PackageLoader("riskcohort.governance", "templates"))
    src = env.loader.get_source(env, "report.html")[0]
    start = src.index("{% set ab = ablation %}")
    block = src[start: src.index('<h2 id="indicators">')]
    ab = {**result, "table": ablation.table_rows(result),
          "dropped_names": [display.indicator_name(f) for f in result["dropped"]]}
    html = env.from_string(block).render(ablation=ab, d=display)
    y = result["test"]["serious_harm"].to_numpy()
    assert f"{roc_auc_score(y, result['with_score']):.3f}" in html
    assert f"{roc_auc_score(y, result['without_score']):.3f}" in html
    assert "Not run" not in html and ab["text"] in html
    off = env.from_string(block).render(ablation={"available": False, "reason": "no data"},
                                        d=display)
    assert "Not run: no data." in off
