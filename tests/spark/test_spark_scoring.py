"""Distributed scoring (``mapInPandas`` with the broadcast model) equals in-process scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.features.engine import indicator_names
from riskcohort.modelling import spark_scoring
from riskcohort.modelling.model import CohortModel
from riskcohort.spark.session import use_engine

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SPEC = {"fixed": {"num_threads": 1, "max_rounds": 40, "early_stopping_rounds": 10},
        "search": {"n_trials": 1, "num_leaves": [8], "min_child_samples": [10]}}


@pytest.fixture(scope="module")
def fitted(duckdb_small):
    names = indicator_names()
    model = CohortModel(spec=SPEC, validation="stratified", interval_members=2, seed=0)
    return model.fit(duckdb_small[names], duckdb_small["serious_harm"])


def test_scores_on_spark_equal_in_process_within_1e9(spark, fitted, spark_small):
    feats = spark_small  # the Spark engine's own features, scored on Spark
    lo, hi = fitted.predict_interval(feats)
    expected = (fitted.raw_margin(feats), fitted.predict_risk(feats), lo, hi)
    with use_engine("spark", "local[2]"):
        got = spark_scoring.predictions(fitted, feats)
    for name, g, e in zip(("margin", "score", "score_lo", "score_hi"), got, expected,
                          strict=True):
        assert g.shape == e.shape == (len(feats),), name
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-9, err_msg=name)
    assert np.ptp(expected[1]) > 0  # scores that differ: row order matters and is kept


def test_default_engine_scores_in_process(fitted, duckdb_small):
    """Without ``--engine spark`` no Spark is touched (the same call, answered here)."""
    got = spark_scoring.predictions(fitted, duckdb_small.head(50))
    np.testing.assert_array_equal(got[1], fitted.predict_risk(duckdb_small.head(50)))


def test_score_frame_on_spark_equals_in_process(spark, fitted, duckdb_small):
    """The job's scoring step (ranks, ties, cohort, bands) is the same with ``--engine spark``."""
    from riskcohort.modelling.iteration import score_frame

    feats = duckdb_small[duckdb_small["as_of"] == duckdb_small["as_of"].max()]
    bands = {"high": 0.1, "elevated": 0.03, "moderate": 0.01}
    expected = score_frame(fitted, feats, 25, bands)
    with use_engine("spark", "local[2]"):
        got = score_frame(fitted, feats, 25, bands)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-9)
    assert got.attrs["cohort"] == expected.attrs["cohort"]
