"""Snapshots, the leakage guard, rolling-origin folds, calibration, determinism, save/load."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.modelling import calibration, training
from riskcohort.modelling.model import CohortModel

D = dt.date
SPEC = {"fixed": {"learning_rate": 0.1, "max_rounds": 200, "early_stopping_rounds": 20,
                  "num_threads": 1},
        "search": {"n_trials": 2, "num_leaves": [7, 15], "min_child_samples": [20, 50]}}


def test_derived_snapshots_respect_the_horizon():
    snaps = training.derive_snapshots(D(2019, 3, 10), D(2023, 6, 15), 365, max_snapshots=100)
    assert snaps[0] == D(2020, 4, 1)  # a year of history, then the next first of month
    assert all(s + dt.timedelta(days=365) <= D(2023, 6, 15) for s in snaps)
    assert snaps[-1] == D(2022, 6, 1)
    assert training.derive_snapshots(D(2019, 3, 10), D(2023, 6, 15), 365, max_snapshots=5) \
        == snaps[-5:]


def test_eligible_is_the_leakage_guard():
    snaps = [D(2022, m, 1) for m in range(1, 13)]
    ok = training.eligible(snaps, D(2023, 3, 1), 365)
    assert ok == [s for s in snaps if s <= D(2022, 3, 1)]


def test_folds_keep_a_horizon_gap():
    snaps = [D(2020 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 31)]
    folds = training.folds(snaps, 365, n_folds=3, block=2, min_train=2)
    assert len(folds) == 3
    for train, val in folds:
        assert max(train) + dt.timedelta(days=365) <= min(val)
        assert not set(train) & set(val)
    assert folds[-1][1] == snaps[-2:]  # validation on the latest snapshots
    assert training.folds(snaps[:12], 365, 3, 2, 2) == []


def panel(n_people=400, n_snap=20, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    risk = rng.normal(size=n_people)
    for s in range(n_snap):
        t = pd.Timestamp("2020-01-01") + pd.DateOffset(months=s)
        x1 = risk + rng.normal(scale=0.5, size=n_people)
        y = rng.random(n_people) < 1 / (1 + np.exp(-(-3 + 1.5 * risk)))
        rows.append(pd.DataFrame({"person_id": [f"p{i}" for i in range(n_people)], "as_of": t,
                                  "x1": x1, "x2": rng.normal(size=n_people),
                                  "serious_harm": y.astype(int)}))
    return pd.concat(rows, ignore_index=True)


def test_fit_is_deterministic_and_records_choices(tmp_path):
    f = panel()
    m1, info = training.fit(f, ["x1", "x2"], SPEC, horizon_days=180, seed=5, block=2,
                            min_train=2, monotone=[1, 0])
    m2, _ = training.fit(f, ["x1", "x2"], SPEC, horizon_days=180, seed=5, block=2,
                         min_train=2, monotone=[1, 0])
    x = f[["x1", "x2"]]
    np.testing.assert_array_equal(m1.predict_risk(x), m2.predict_risk(x))
    assert info["calibration"]["method"] in ("platt", "isotonic")
    assert len(info["search"]) == 2 and info["hyperparameters"]["num_boost_round"] >= 10
    for fold in info["folds"]:
        assert pd.Timestamp(fold["train_to"]) + pd.Timedelta(days=180) <= \
            pd.Timestamp(fold["validate"][0])
    # the signal is learnt and respects the monotone constraint
    grid = pd.DataFrame({"x1": np.linspace(-3, 3, 50), "x2": 0.0})
    assert np.all(np.diff(m1.raw_margin(grid)) >= -1e-12)
    assert m1.predict_risk(grid)[-1] > m1.predict_risk(grid)[0]
    m1.save(tmp_path / "model")
    back = CohortModel.load(tmp_path / "model")
    np.testing.assert_allclose(back.predict_risk(x), m1.predict_risk(x))
    np.testing.assert_allclose(back.raw_margin(x.iloc[:, ::-1]), m1.raw_margin(x))
    assert back.predict_proba(x).shape == (len(x), 2)


def test_degenerate_training_raises_user_error():
    f = panel(n_snap=20)
    with pytest.raises(UserError, match="both outcomes"):
        training.fit(f.assign(serious_harm=0), ["x1"], SPEC, horizon_days=180)
    with pytest.raises(UserError, match="enough snapshots"):
        training.fit(panel(n_snap=5), ["x1"], SPEC, horizon_days=365, min_train=2)


def test_calibration_choice_and_json_roundtrip():
    rng = np.random.default_rng(0)
    margin = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * margin - 3)))).astype(int)
    t = np.repeat(np.arange(4), 1000)
    cal = calibration.choose("auto", margin, y, t)
    assert set(cal["selection"]["log_loss"]) == {"platt", "isotonic"}
    p = calibration.apply(cal, margin)
    assert abs(p.mean() - y.mean()) < 0.01
    platt = calibration.fit("platt", margin, y)
    assert platt["a"] == pytest.approx(2, abs=0.3) and platt["b"] == pytest.approx(-3, abs=0.3)
    assert calibration.choose("isotonic", margin, y, t)["method"] == "isotonic"


def test_negative_sampling_keeps_positives_and_reweights():
    y = np.array([1] * 10 + [0] * 990)
    w = training.sample_weights(y, 0.25, seed=1)
    assert (w[:10] == 1).all()
    kept = w[10:] > 0
    assert set(np.unique(w[10:][kept])) == {4.0}
    assert 0.15 < kept.mean() < 0.35
    np.testing.assert_array_equal(w, training.sample_weights(y, 0.25, seed=1))


def test_protected_and_label_columns_never_features():
    f = pd.DataFrame({"person_id": ["a"], "as_of": [pd.Timestamp("2020-01-01")], "x": [1.0],
                      "sex": [1.0], "serious_harm": [0], "harm_weight": [0.0], "y": [2.0]})
    assert training.feature_columns(f, exclude=["y"]) == ["x"]


def test_top_share_recall_counts_the_top_of_each_snapshot_separately():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    margin = np.array([5.0, 4.5, 0.0, 0.0, 0.1, 9.0, 8.0, 7.0])
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    # top 2 of group 0: margins 5 and 4.5 -> both its positives; top 2 of group 1: 9, 8 -> none
    # of its one positive. Pooled over the groups: 2 of 3 (a global top 4 would take 9, 8, 7
    # and 5 instead: 1 of 3).
    assert training.top_share_recall(y, margin, groups, share=0.5) == pytest.approx(2 / 3)
    assert training.top_share_recall(y, margin, groups, share=1.0) == 1.0
    assert np.isnan(training.top_share_recall(np.zeros(4), margin[:4], groups[:4], 0.5))


def _top_share_by_full_sort(y, margin, groups, share, weight=None):
    """The metric's definition, written the slow way: a full stable sort of every group."""
    caught = total = 0.0
    for g in sorted(set(groups.tolist())):
        m = groups == g
        order = np.argsort(-margin[m], kind="stable")
        w = np.ones(m.sum()) if weight is None else weight[m]
        if weight is None:
            k = max(1, int(round(share * m.sum())))
        else:
            k = max(1, int(np.searchsorted(np.cumsum(w[order]), round(share * w.sum()),
                                           side="right")))
        caught += float((y[m][order[:k]] * w[order[:k]]).sum())
        total += float((y[m] * w).sum())
    return caught / total if total else float("nan")


@pytest.mark.parametrize("seed", range(6))
def test_top_share_recall_equals_a_full_sort_with_ties_and_weights(seed):
    """Only the top of each group is sorted (early stopping calls it every round); ties at the
    cut are taken in row order, as a stable full sort takes them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 5000))
    groups = np.array([dt.date(2024, 1 + int(i), 1) for i in rng.integers(0, 4, n)], dtype=object)
    y = (rng.random(n) < 0.05).astype(float)
    margin = np.round(rng.normal(size=n), 1)  # many ties
    weight = rng.choice([1.0, 5.0, 1 / 0.0418], n)
    for share in (0.01, 0.05, 0.3):
        for w in (None, weight):
            got = training.top_share_recall(y, margin, groups, share, w)
            want = _top_share_by_full_sort(y, margin, groups, share, w)
            assert got == pytest.approx(want, rel=1e-12, nan_ok=True), (share, w is None)
    rows = training.group_rows(groups)
    assert training.top_share_recall(y, margin, groups, 0.05, weight, rows=rows) == \
        training.top_share_recall(y, margin, groups, 0.05, weight)


def test_selection_by_top_share_recall_picks_trials_and_rounds_by_it():
    f = panel(n_people=600, seed=3)
    spec = {**SPEC, "selection": {"metric": "top_share_recall", "share": 0.05}}
    _, info = training.fit(f, ["x1", "x2"], spec, horizon_days=180, seed=1, block=2,
                           min_train=2)
    assert info["selection"] == {"metric": "top_share_recall", "share": 0.05}
    scores = [r["score"] for r in info["search"]]
    for r in info["search"]:
        assert r["score"] == pytest.approx(np.mean(r["fold_top_share_recall"]))
        assert 0 < r["score"] <= 1
    chosen = {k: v for k, v in info["hyperparameters"].items() if k != "num_boost_round"}
    assert chosen == info["search"][int(np.argmax(scores))]["trial"]
    _, by_ap = training.fit(f, ["x1", "x2"], SPEC, horizon_days=180, seed=1, block=2,
                            min_train=2)
    assert by_ap["selection"]["metric"] == "average_precision"
    assert [r["score"] for r in by_ap["search"]] == [r["ap"] for r in by_ap["search"]]


def test_unknown_selection_metric_is_a_user_error(tmp_path):
    from riskcohort.modelling.config import load_model_spec

    path = tmp_path / "spec.toml"
    path.write_text('[fixed]\nobjective = "binary"\n[search]\nn_trials = 1\n'
                    '[selection]\nmetric = "accuracy"\n')
    with pytest.raises(UserError, match="selection.*accuracy"):
        load_model_spec(path)
    path.write_text('[fixed]\nobjective = "binary"\n[search]\nn_trials = 1\n'
                    '[selection]\nshare = 2\n')
    with pytest.raises(UserError, match="share"):
        load_model_spec(path)
