"""Run-folder fixtures built here, so tracking is tested without the modelling stage.

A small LightGBM booster trained on random data with indicator-like names, a Platt calibrator,
scores.csv, features.parquet, evaluation.parquet, metrics.json from the real
``modelling.metrics.evaluate`` (small bootstrap) and run.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import riskcohort  # noqa: F401  (telemetry off first)
from riskcohort import runfolder
from riskcohort.runfolder import layout as L

FEATURES = ["da_count_365d", "harm_365d", "days_since_last_da", "distinct_victims_3y",
            "dash_high_12m", "gravity_max_3y"]
BASELINES = ("dash", "rfgv", "harm_sum", "iteration2", "incumbent", "oracle")


def make_run_folder(out: Path, *, seed: int = 0, n: int = 400, as_of: str = "2024-01-01",
                    experiment: str = "exp-test", signal: float = 1.5) -> Path:
    """Publish a complete run folder; ``signal`` sets how predictive the features are."""
    import lightgbm as lgb

    from riskcohort.modelling.metrics import evaluate

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.poisson(2, size=(n, len(FEATURES))).astype(float), columns=FEATURES)
    logit = -2.5 + signal * (X["da_count_365d"] - 2) / 1.4 + 0.5 * (X["harm_365d"] - 2) / 1.4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": seed},
                        lgb.Dataset(X, y), num_boost_round=15)
    margin = booster.predict(X, raw_score=True)
    a, b = 0.9, -0.1
    prob = 1 / (1 + np.exp(-(a * margin + b)))
    ids = [f"P{i:05d}" for i in range(n)]
    w = runfolder.RunWriter(out, overwrite=True)
    booster.save_model(str(w.path(L.MODEL_BOOSTER)))
    w.write_json(L.MODEL_CALIBRATOR, {"method": "platt", "a": a, "b": b})
    w.write_json(L.MODEL_FEATURE_NAMES, FEATURES)
    feats = X.assign(person_id=ids, as_of=pd.Timestamp(as_of))[["person_id", "as_of", *FEATURES]]
    w.write_frame(L.FEATURES, feats)
    rank = pd.Series(prob).rank(ascending=False, method="first").astype(int)
    w.write_frame(L.SCORES, pd.DataFrame({
        "person_id": ids, "as_of": as_of, "score": prob, "rank": rank, "in_cohort": rank <= 100,
        "band": np.where(rank <= 100, "high", "low")}))
    harm = y * rng.integers(1, 400, n)
    scores = {"model": prob, "dash": X["dash_high_12m"].to_numpy(),
              "rfgv": X["da_count_365d"].to_numpy() + rng.random(n),
              "harm_sum": X["harm_365d"].to_numpy(), "iteration2": prob + rng.normal(0, .1, n),
              "incumbent": rng.random(n), "oracle": 1 / (1 + np.exp(-logit.to_numpy()))}
    metrics = evaluate(y, harm, np.zeros(n), scores, ks=(50, 100), n_boot=50, seed=seed)
    w.write_metrics(runfolder.Metrics(backtest=True, **metrics))
    w.write_frame(L.EVALUATION, pd.DataFrame({
        "person_id": ids, "as_of": pd.Timestamp(as_of), "serious_harm": y, "homicide": 0,
        "harm_weight": harm.astype(float), **scores}))
    w.write_text(f"{L.PLOTS_DIR}/importance.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    out = w.publish(runfolder.Manifest(
        experiment=experiment, as_of=as_of, data_dir="../data", fingerprint=f"sha256-{seed}",
        horizon_days=365, k=100, seed=seed, features=FEATURES, absent_sources=[],
        training_snapshots=["2023-01-01"],
        hyperparameters={"num_leaves": 7, "num_boost_round": 15},
        calibration={"method": "platt"}, backtest=True, created_at="now"))
    runfolder.attach(out, L.REPORT_HTML,
                     lambda p: p.write_text("<html><body>report</body></html>"))
    return out


def amend(run: Path, frames: dict | None = None, remove=(), metrics=None) -> Path:
    """Republish a fixture run with some files replaced (``frames``: {name: DataFrame};
    ``metrics``: a Metrics record) or removed; a published folder is never edited in place."""
    with runfolder.RunWriter.amend(run) as w:
        for name in remove:
            w.replace_file(name)
        for name, frame in (frames or {}).items():
            w.write_frame(name, frame)
        if metrics is not None:
            w.write_metrics(metrics)
        return w.publish()


_CACHE: dict[int, Path] = {}


def run_copy(out: Path, seed: int = 0) -> Path:
    """A copy of a cached run folder for ``seed`` (building one costs LightGBM + bootstrap)."""
    import atexit
    import shutil
    import tempfile

    if seed not in _CACHE:
        root = Path(tempfile.mkdtemp(prefix="rc-run-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)  # the cache lives per process
        _CACHE[seed] = make_run_folder(root / "run", seed=seed)
    return Path(shutil.copytree(_CACHE[seed], out))
