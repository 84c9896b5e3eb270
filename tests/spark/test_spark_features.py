"""``--engine spark`` computes the same indicator table as DuckDB (issue 22.3).

Same rows, same order, same values (exact, NaN where NaN) and dtypes, on the ``small`` preset at
three as-of dates with labels; and on a random dataset touching every table after records that
are not yet known are added, deleted or changed (the point-in-time rule holds on Spark too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.features.engine import build, indicator_names
from tests.features.feature_data import random_dataset
from tests.features.test_leakage import KNOWN, START, _mutate

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def test_small_preset_features_equal_duckdb_exactly(duckdb_small, spark_small):
    assert len(duckdb_small) > 1000 and duckdb_small["as_of"].nunique() == 3
    assert spark_small.attrs["notes"] == duckdb_small.attrs["notes"]
    pd.testing.assert_frame_equal(spark_small, duckdb_small, check_exact=True)
    # NaN in the same cells (assert_frame_equal treats NaN == NaN; say it explicitly)
    names = indicator_names()
    assert (spark_small[names].isna().to_numpy() == duckdb_small[names].isna().to_numpy()).all()
    assert duckdb_small[names].isna().any().any() and duckdb_small["serious_harm"].sum() > 0


def test_records_unknown_at_t_change_nothing_on_spark(spark):
    """Every table gets records added, deleted, changed (and ends moved) that are not known at
    the later snapshot T; Spark's snapshots at T and before equal DuckDB's on the untouched
    data, so nothing unknown leaked in (DuckDB's own property is tests/features/test_leakage)."""
    rng = np.random.default_rng(22)
    data = random_dataset(rng, n_persons=12, n_events=30)
    t1, t2 = START + pd.Timedelta(days=900), START + pd.Timedelta(days=1500)
    changed = data
    for table in sorted(KNOWN):
        for action in ("add", "delete", "change", "end"):
            changed = _mutate(changed, table, action, rng, t2)
    assert any(len(changed[n]) != len(data[n]) or not changed[n].equals(data[n]) for n in KNOWN)
    expected = build(data, [t1, t2], engine="duckdb")
    assert len(expected) > 0
    got = build(changed, [t1, t2], engine="spark", spark_master="local[2]")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
