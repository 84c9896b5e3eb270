"""Treatment-aware training (issue 17.3): which training rows a method keeps, how it weighs
them, the feature fixed to 'not managed', the strict config key, and the managed/unmanaged
evaluation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.features.catalogue import names_with_role
from riskcohort.modelling import training, treatment
from riskcohort.modelling.config import load_experiment

T = pd.Timestamp


def _tables():
    iv = pd.DataFrame({
        "intervention_id": ["V1", "V2", "V3"], "person_id": ["a", "b", "c"],
        "kind": ["dapst_managed"] * 3,
        "start_date": [T("2023-03-01"), T("2023-01-01"), T("2023-05-01")],
        "end_date": [T("2023-09-01"), T("2023-07-01"), pd.NaT],
        "recorded_at": [T("2023-03-02"), T("2023-01-02"), T("2024-09-01")],  # c: recorded late
        "end_recorded_at": [T("2023-09-03"), T("2024-08-01"), pd.NaT],  # b: end recorded late
    })
    return {"interventions": iv}


def _frame():
    return pd.DataFrame({"person_id": ["a", "a", "b", "c", "d"],
                         "as_of": [T("2023-01-01"), T("2021-01-01"), T("2023-01-01"),
                                   T("2023-01-01"), T("2023-01-01")],
                         "x": [3.0, 1.0, 2.0, 2.5, 0.5]})


def test_managed_share_uses_only_periods_known_by_the_cutoff():
    tables = _tables()
    periods = treatment.known_periods(tables, T("2024-01-01"))
    assert set(periods["person_id"]) == {"a", "b"}  # c recorded after the cut-off
    assert periods.loc[periods.person_id == "b", "end"].isna().all()  # end not yet known
    share = treatment.managed_share(_frame(), periods, 365, T("2024-01-01"))
    assert share[0] == pytest.approx(184 / 365)  # a: 2023-03-01..2023-09-01
    assert share[1] == 0 and share[3] == 0 and share[4] == 0
    assert share[2] == 1.0  # b open until the cut-off: the whole horizon


@pytest.mark.parametrize("method", treatment.METHODS)
def test_methods(method):
    frame = _frame()
    w = treatment.adjust(frame, np.ones(5), method, _tables(), 365, T("2024-01-01"), ["x"])
    managed = np.array([True, False, True, False, False])
    if method in ("censor", "ipw"):
        assert (w.weights[managed] == 0).all() and (w.weights[~managed] > 0).all()
        if method == "ipw":  # kept people like the managed ones count for them
            assert w.weights[0 + 3] > w.weights[4] >= 1
    else:
        assert (w.weights == 1).all()
    assert w.extra == ([treatment.FEATURE] if method == "feature_fixed" else [])
    if method == "feature_fixed":
        assert frame[treatment.FEATURE].gt(0).tolist() == managed.tolist()
    assert w.record["rows_managed_in_horizon"] == 2


def test_intervention_indicators_are_never_plain_inputs():
    names = names_with_role("intervention")
    assert names
    frame = pd.DataFrame({"person_id": ["a"], "as_of": [T("2023-01-01")], "x": [1.0],
                          **{n: [1.0] for n in names}})
    assert training.feature_columns(frame) == ["x"]


def test_config_key_is_strict(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[experiment]\ndata = "."\n[training]\ninterventions = "ipw"\n')
    assert load_experiment(path).interventions == "ipw"
    path.write_text('[experiment]\ndata = "."\n')
    assert load_experiment(path).interventions == treatment.DEFAULT
    path.write_text('[experiment]\ndata = "."\n[training]\ninterventions = "drop"\n')
    with pytest.raises(UserError, match="training.interventions"):
        load_experiment(path)


def test_evaluation_by_management():
    ev = pd.DataFrame({"person_id": ["a", "b", "d", "e"], "serious_harm": [1, 0, 1, 0],
                       "model": [0.9, 0.1, 0.8, 0.2]})
    out = treatment.by_management(ev, _tables(), T("2023-01-01"), 365, ["model"])
    assert out["managed"]["people"] == 2 and out["unmanaged"]["people"] == 2
    assert out["unmanaged"]["auc_model"] == 1.0 and out["managed"]["serious_harm"] == 1


def test_default_is_feature_fixed_and_adds_nothing_without_management():
    """The default chosen by benchmarks/bench_treatment.py (docs/modelling.md, Interventions);
    on data where no training row was managed it must train the same model as without
    interventions (no constant ``managed_in_horizon`` column)."""
    assert treatment.DEFAULT == "feature_fixed"
    from riskcohort.modelling.config import ExperimentConfig
    assert ExperimentConfig("x", None, None).interventions == treatment.DEFAULT
    frame = _frame().iloc[[1, 4]].reset_index(drop=True)  # a in 2021 and d: never managed
    w = treatment.adjust(frame, np.ones(2), "feature_fixed", _tables(), 365, T("2024-01-01"),
                         ["x"])
    assert w.extra == [] and treatment.FEATURE not in frame and (w.weights == 1).all()
    empty = treatment.adjust(_frame(), np.ones(5), "feature_fixed", {}, 365, T("2024-01-01"),
                             ["x"])
    assert empty.extra == [] and empty.record["rows_managed_in_horizon"] == 0


def test_every_scoring_path_scores_feature_fixed_as_not_managed():
    feats = pd.DataFrame({"person_id": ["a", "b"], "x": [1.0, 2.0]})
    fixed = treatment.for_scoring(feats, ["x", treatment.FEATURE])
    assert fixed[treatment.FEATURE].tolist() == [0.0, 0.0] and "x" in fixed
    assert treatment.FEATURE not in feats  # the caller's frame is not modified
    assert list(treatment.for_scoring(feats, ["x"]).columns) == list(feats.columns)


def test_explanations_name_the_not_managed_input_in_words():
    from riskcohort.explain.labels import indicator_labels, readable_name, render_reason

    label = indicator_labels([treatment.FEATURE])[treatment.FEATURE]
    sentence = render_reason(label, 0.0)
    assert readable_name(label) == "Scored as if not managed by the team"
    assert sentence.startswith("Scored as if not managed by the team:")
    assert "_" not in sentence and "managed in horizon" not in sentence
