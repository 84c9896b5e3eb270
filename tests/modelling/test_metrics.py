"""metrics.evaluate against sklearn and hand-computed values; intervals and pairing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskcohort.modelling.metrics import evaluate


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    n = 3000
    y = (rng.random(n) < 0.03).astype(int)
    p = np.clip(0.02 + 0.3 * y * rng.random(n) + 0.05 * rng.random(n), 0, 1)
    harm = np.where(y == 1, rng.integers(1, 500, n), rng.integers(0, 3, n)).astype(float)
    hom = ((y == 1) & (rng.random(n) < 0.1)).astype(int)
    rule = np.round(p * 10)  # heavy ties
    return y, p, harm, hom, rule


@pytest.fixture(scope="module")
def result(sample):
    y, p, harm, hom, rule = sample
    return evaluate(y, harm, hom, {"model": p, "rule": rule}, ks=(50, 100), n_boot=200, seed=3)


def test_point_estimates_match_sklearn(sample, result):
    y, p, _, _, rule = sample
    m, r = result["scores"]["model"], result["scores"]["rule"]
    assert m["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert r["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, rule), abs=1e-12)
    assert m["pr_auc"]["value"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert r["pr_auc"]["value"] == pytest.approx(average_precision_score(y, rule), abs=1e-12)
    assert m["brier"]["value"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    x = np.log(p / (1 - p))
    lr = LogisticRegression(C=1e12, max_iter=5000, tol=1e-10).fit(x[:, None], y)
    assert m["calibration_slope"]["value"] == pytest.approx(lr.coef_[0, 0], rel=1e-3)
    assert "brier" not in r  # a rule ranking is not a probability


def test_topk_by_hand(sample, result):
    y, p, harm, hom, _ = sample
    top = np.argsort(-p, kind="stable")[:100]
    m = result["scores"]["model"]
    assert m["recall@100"]["value"] == pytest.approx(y[top].sum() / y.sum())
    assert m["precision@100"]["value"] == pytest.approx(y[top].sum() / 100)
    assert m["harm@100"]["value"] == pytest.approx(harm[top].sum() / harm.sum())
    assert m["homicides@100"]["value"] == pytest.approx(hom[top].sum())


def test_ties_at_the_boundary_count_fractionally():
    y = np.array([1, 0, 0, 0])
    s = np.array([1.0, 1.0, 1.0, 1.0])  # all tied: top-2 holds half of everyone
    r = evaluate(y, y * 1.0, np.zeros(4), {"model": s}, ks=(2,), n_boot=0)
    assert r["scores"]["model"]["recall@2"]["value"] == pytest.approx(0.5)
    assert r["scores"]["model"]["roc_auc"]["value"] == pytest.approx(0.5)
    # a tiebreak resolves the tie in favour of the positive
    r2 = evaluate(y, y * 1.0, np.zeros(4), {"model": s}, ks=(1,), n_boot=0,
                  tiebreak={"model": np.array([4.0, 3, 2, 1])})
    assert r2["scores"]["model"]["recall@1"]["value"] == pytest.approx(1.0)


def test_ece_by_hand():
    # two equal-frequency bins: p=0.1 (y mean 0.2) and p=0.5 (y mean 0.5)
    p = np.array([0.1] * 10 + [0.5] * 10)
    y = np.array([1, 1] + [0] * 8 + [1] * 5 + [0] * 5)
    r = evaluate(y, y * 1.0, np.zeros(20), {"model": p}, ks=(5,), n_boot=0)
    assert r["scores"]["model"]["ece"]["value"] == pytest.approx(0.5 * 0.1 + 0.5 * 0.0)


def test_intervals_contain_point_and_are_paired(sample, result):
    y, p, harm, hom, rule = sample
    for name in ("model", "rule"):
        for key, v in result["scores"][name].items():
            if np.isfinite(v["lo"]):
                assert v["lo"] - 1e-9 <= v["value"] <= v["hi"] + 1e-9, (name, key)
    d = result["differences"]["rule"]["roc_auc"]
    m, r = result["scores"]["model"]["roc_auc"], result["scores"]["rule"]["roc_auc"]
    assert d["value"] == pytest.approx(m["value"] - r["value"])
    # paired: a score compared with itself differs by exactly 0 in every resample
    same = evaluate(y, harm, hom, {"model": p, "copy": p.copy()}, ks=(50,), n_boot=100)
    assert same["differences"]["copy"]["roc_auc"]["lo"] == 0.0
    assert same["differences"]["copy"]["roc_auc"]["hi"] == 0.0


def test_bootstrap_is_seeded(sample):
    y, p, harm, hom, rule = sample
    a = evaluate(y, harm, hom, {"model": p}, ks=(50,), n_boot=50, seed=1)
    b = evaluate(y, harm, hom, {"model": p}, ks=(50,), n_boot=50, seed=1)
    c = evaluate(y, harm, hom, {"model": p}, ks=(50,), n_boot=50, seed=2)
    assert a == b
    assert a["scores"]["model"]["roc_auc"]["lo"] != c["scores"]["model"]["roc_auc"]["lo"]


def test_nan_scores_rank_last_and_cautions():
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([np.nan, 0.9, 0.1, 0.2, 0.3])
    r = evaluate(y, y * 1.0, y, {"inc": s}, ks=(1,), n_boot=10, probabilities=())
    assert r["scores"]["inc"]["recall@1"]["value"] == pytest.approx(0.5)
    assert any("homicide" in c for c in r["cautions"])


def test_pooled_topk_sums_dates_and_is_paired(sample):
    import pandas as pd

    from riskcohort.modelling.pooled import pooled_topk

    y, p, harm, hom, rule = sample
    f = pd.DataFrame({"serious_harm": y, "harm_weight": harm, "model": p, "rule": rule,
                      "copy": p})
    r = pooled_topk([f, f.iloc[:1000]], ["model", "rule", "copy"], ks=(100,), n_boot=100)
    top1 = np.argsort(-p, kind="stable")[:100]
    top2 = np.argsort(-p[:1000], kind="stable")[:100]
    want = (y[top1].sum() + y[:1000][top2].sum()) / (y.sum() + y[:1000].sum())
    assert r["scores"]["model"]["recall@100"]["value"] == pytest.approx(want)
    assert r["differences"]["copy"]["recall@100"]["lo"] == 0.0
    assert r["differences"]["copy"]["recall@100"]["hi"] == 0.0
    s = r["scores"]["rule"]["recall@100"]
    assert s["lo"] <= s["value"] <= s["hi"]


def test_pooled_topk_in_chunks_draws_the_same_resamples(sample, monkeypatch):
    """Resamples are drawn chunk by chunk to bound memory; the intervals must not change."""
    import pandas as pd

    from riskcohort.modelling import pooled

    y, p, harm, hom, rule = sample
    f = pd.DataFrame({"serious_harm": y, "harm_weight": harm, "model": p, "rule": rule})
    args = ([f, f.iloc[:1000]], ["model", "rule"])
    whole = pooled.pooled_topk(*args, ks=(50, 100), n_boot=60, seed=3)
    monkeypatch.setattr(pooled, "_CELLS_PER_CHUNK", 7 * len(f))  # chunks of 7 and 42 resamples
    chunked = pooled.pooled_topk(*args, ks=(50, 100), n_boot=60, seed=3)
    assert chunked == whole
