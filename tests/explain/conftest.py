"""A small run folder in the layout of docs/architecture.md, built from random data.

Why our own: explain must be testable without the modelling stage; the fixture publishes, through
``riskcohort.runfolder``, the files `riskcohort run` writes (model/model.txt,
model/feature_names.json, features.parquet, scores.csv, run.json) with indicator-like columns,
some of them missing (NaN) like absent sources.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskcohort import runfolder
from riskcohort.runfolder import layout as L

INDICATORS = [
    "da_count_365d",
    "days_since_last_da",
    "breach_count_365d",
    "dash_high_12m",
    "harm_365d",
    "distinct_victims_3y",
]


def make_run(root: Path, n: int = 300, seed: int = 0, snapshots=("2024-01-01",),
             platt: tuple[float, float] | None = None, empty: bool = False) -> Path:
    """Publish a run folder; scores are sigmoid(a * margin + b) (Platt) or sigmoid(margin).
    ``empty``: the model is trained but nobody is in the scored snapshot."""
    import lightgbm as lgb

    rng = np.random.default_rng(seed)
    frames = []
    for k, as_of in enumerate(snapshots):
        f = pd.DataFrame({
            "person_id": [f"P{i:05d}" for i in range(n)],
            "as_of": pd.Timestamp(as_of),
            "da_count_365d": rng.poisson(1.5, n).astype(float),
            "days_since_last_da": rng.uniform(1, 1800, n).round(),
            "breach_count_365d": rng.poisson(0.6 + 0.2 * k, n).astype(float),
            "dash_high_12m": rng.integers(0, 2, n).astype(float),
            "harm_365d": rng.gamma(1.0, 30.0, n).round(1),
            "distinct_victims_3y": (rng.poisson(0.5, n) + 1).astype(float),
        })
        f.loc[rng.random(n) < 0.1, "harm_365d"] = np.nan
        frames.append(f)
    feats = pd.concat(frames, ignore_index=True)
    X = feats[INDICATORS]
    logit = -2 + 0.5 * X.da_count_365d + 0.8 * X.breach_count_365d + X.dash_high_12m \
        - X.days_since_last_da / 900
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 5,
              "num_leaves": 8, "seed": seed, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=25)
    writer = runfolder.RunWriter(root, overwrite=True)
    booster.save_model(str(writer.path(L.MODEL_BOOSTER)))
    writer.write_json(L.MODEL_FEATURE_NAMES, INDICATORS)
    margin = booster.predict(X, raw_score=True)
    a, b = platt or (1.0, 0.0)  # every model is calibrated; (1, 0) is the identity map
    writer.write_json(L.MODEL_CALIBRATOR, {"method": "platt", "a": a, "b": b})
    score = 1 / (1 + np.exp(-(a * margin + b)))
    scores = feats[["person_id", "as_of"]].copy()
    scores["score"] = score
    scores["rank"] = scores.groupby("as_of")["score"].rank(ascending=False, method="first")
    scores["rank"] = scores["rank"].astype(int)
    scores["in_cohort"] = scores["rank"] <= 20
    scores["band"] = np.where(scores["rank"] <= 20, "high",
                              np.where(scores["rank"] <= 60, "medium", "low"))
    scores["as_of"] = scores["as_of"].dt.date.astype(str)
    writer.write_frame(L.SCORES, scores.iloc[:0] if empty else scores)
    writer.write_frame(L.FEATURES, feats.iloc[:0] if empty else feats)
    return writer.publish(runfolder.Manifest(
        experiment="test", as_of=snapshots[-1], data_dir="data", fingerprint="f" * 64,
        absent_sources=["markers"], seed=seed))


def republish(run: Path, frames: dict) -> Path:
    """Replace files of a published fixture run with ``{name: frame}`` and publish it again
    whole (a published folder is never edited in place: the reader would refuse it)."""
    with runfolder.RunWriter.amend(run) as writer:
        for name, frame in frames.items():
            writer.write_frame(name, frame)
        return writer.publish()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One Platt-calibrated run folder shared by a test module (read-only by convention)."""
    return make_run(tmp_path_factory.mktemp("run"), platt=(0.8, -0.3))


@pytest.fixture
def build_run():
    """The run-folder builder, for tests that need a variant (several snapshots, no calibrator)."""
    return make_run


@pytest.fixture(scope="session")
def indicators() -> list[str]:
    return list(INDICATORS)
