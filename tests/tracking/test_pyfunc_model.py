"""The registry's champion serves the calibrated probability that scores.csv shows (real server)."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from riskcohort import runfolder
from riskcohort.modelling import CohortModel
from riskcohort.modelling.iteration import SCORE_COLUMNS, score_frame
from riskcohort.runfolder import layout as L
from riskcohort.tracking import registry
from riskcohort.tracking.iteration import log_iteration
from tests.tracking.test_server import mlflow_server  # noqa: F401 - the real-server fixture

SPEC = {"fixed": {"num_threads": 1, "max_rounds": 60, "early_stopping_rounds": 10},
        "search": {"n_trials": 1, "num_leaves": [7], "min_child_samples": [20]}}


def fitted_run_folder(root, n=1500, seed=0):
    """A published run folder whose model is a fitted CohortModel (interval members included)
    and whose scores.csv comes from the modelling stage's own score_frame."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"da_count_365d": rng.poisson(2, n), "harm_365d": rng.gamma(1, 30, n),
                      "days_since_last_da": rng.integers(1, 900, n).astype(float)})
    X.loc[rng.random(n) < 0.1, "harm_365d"] = np.nan
    logit = -3 + 0.6 * X["da_count_365d"] - X["days_since_last_da"] / 600
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = CohortModel(spec=SPEC, validation="stratified", monotone=[1, 1, -1]).fit(X, y)
    feats = X.assign(person_id=[f"P{i:05d}" for i in range(n)],
                     as_of=pd.Timestamp("2024-01-01"))[["person_id", "as_of", *X.columns]]
    scores = score_frame(model, feats, 100, {"high": 0.1})
    with runfolder.RunWriter(root) as w:
        model.save(w.path(L.MODEL_DIR))
        w.write_frame(L.FEATURES, feats)
        w.write_frame(L.SCORES, scores[SCORE_COLUMNS])
        return w.publish(runfolder.Manifest(as_of="2024-01-01", experiment="pyfunc-test",
                                            features=list(X.columns)))


@pytest.mark.slow
def test_champion_alias_serves_the_scores_csv_probability(mlflow_server, tmp_path):  # noqa: F811
    import mlflow

    root = fitted_run_folder(tmp_path / "run")
    log_iteration(root, tracking_uri=mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    served = mlflow.pyfunc.load_model(f"models:/{registry.MODEL_NAME}@champion")
    feats = pd.read_parquet(root / L.FEATURES)
    scores = pd.read_csv(root / L.SCORES, dtype={"person_id": str})
    p = np.asarray(served.predict(feats))  # person_id / as_of are extra columns: ignored
    assert scores["person_id"].tolist() == feats["person_id"].tolist()
    np.testing.assert_allclose(p, scores["score"].to_numpy(), rtol=0, atol=1e-9)
    # the booster stays available for SHAP; it alone is NOT what scores.csv shows
    reg = registry.load_registered("champion", tracking_uri=mlflow_server, dst=tmp_path / "dl")
    booster = lgb.Booster(model_file=str(reg.model_dir / "model.txt"))
    X = feats[json.loads((reg.model_dir / "feature_names.json").read_text())]
    assert np.max(np.abs(booster.predict(X.to_numpy(float)) - scores["score"])) > 1e-3
    # the whole estimator came through the registry: intervals too
    lo, hi = CohortModel.load(reg.model_dir).predict_interval(feats)
    np.testing.assert_allclose(lo, scores["score_lo"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(hi, scores["score_hi"], rtol=0, atol=1e-9)
    # logged as code plus text artifacts: nothing to unpickle
    logged = Path(mlflow.artifacts.download_artifacts(
        f"models:/{registry.MODEL_NAME}@champion", dst_path=str(tmp_path / "logged")))
    assert (logged / "pyfunc_entry.py").is_file()
    assert not list(logged.rglob("*.pkl"))
