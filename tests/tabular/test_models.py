import numpy as np
import pandas as pd

from riskcohort.tabular import explanations, models
from riskcohort.tabular.infer import TableTyper
from riskcohort.tabular.run import split_rows


def test_time_split_puts_latest_rows_in_test(table):
    time = pd.to_datetime(table["referral_date"])
    test = split_rows(table["label"], time, 0.3, 0)
    assert abs(test.mean() - 0.3) < 0.01
    assert time[test].min() >= time[~test].max()


def test_random_split_is_stratified_and_seeded(table):
    a = split_rows(table["label"], None, 0.3, 7)
    b = split_rows(table["label"], None, 0.3, 7)
    assert a.equals(b)
    assert abs(table["label"][a].mean() - table["label"][~a].mean()) < 0.01


def test_time_ordered_folds_never_validate_on_the_past():
    order = np.array([5, 1, 4, 2, 3, 0, 7, 6])
    pairs = models.folds(np.array([1, 1, 1, 0, 1, 0, 1, 0]), order, 3)
    assert len(pairs) == 3
    for tr, va in pairs:
        assert order[tr].max() < order[va].min()


def _fit(table, family):
    cols = ["prior_incidents", "strangulation", "area", "noise"]
    typer = TableTyper().fit(table[cols], table["label"])
    X = typer.transform(table[cols])
    y = table["label"].to_numpy()
    if family == "lightgbm":
        cand = models.tune_lightgbm(X, y, None, [1, 1, 0, 0])
    else:
        cand = models.tune_logistic(X, y, None, {"prior_incidents"})
    return cand, X


def test_both_families_find_the_signal(table):
    for family in ("lightgbm", "logistic"):
        cand, X = _fit(table, family)
        assert cand.cv_auc > 0.7, family


def test_explanations_are_additive_for_both_families(table):
    for family in ("logistic", "lightgbm"):
        cand, X = _fit(table, family)
        base, values = explanations.contributions(cand, X.iloc[:50], X)
        margin = models.margin(cand, X.iloc[:50])
        np.testing.assert_allclose(base + values.sum(axis=1), margin, atol=1e-6)
        signal = dict(zip(X.columns, np.abs(values).mean(axis=0), strict=True))
        assert signal["noise"] < signal["prior_incidents"]


def test_lightgbm_side_is_the_calibrated_cohort_estimator(table):
    from riskcohort.modelling import CohortModel

    cand, X = _fit(table, "lightgbm")
    assert isinstance(cand.model, CohortModel)
    assert cand.model.calibrator_["method"] in ("platt", "isotonic")
    assert cand.params["calibration"] == cand.model.calibrator_["method"]
    # probabilities are the calibrated ones, strictly ordered like the margin
    p, m = models.predict(cand, X), models.margin(cand, X)
    order = np.argsort(m)
    assert np.all(np.diff(p[order])[np.diff(m[order]) > 0] > 0)
    assert abs(p.mean() - table["label"].mean()) < 0.05
