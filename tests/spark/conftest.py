"""One SparkSession (``local[2]``) and one ``small`` dataset for every Spark test.

Why session-wide: starting the JVM costs 10-20 s, so every Spark test shares the one session of
:mod:`riskcohort.spark.session` (the tests are also grouped on one xdist worker:
``xdist_group("spark")``, so ``make test`` starts Spark once). Without Java the Spark tests skip
with the reason; ``scripts/install-system-deps.sh`` installs it for ``make test``.
"""

from __future__ import annotations

import shutil

import pytest

SMALL_DATES = ["2022-07-01", "2023-07-01", "2024-07-01"]


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    if not shutil.which("java"):
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    from riskcohort.spark.session import get_session, stop_session

    session = get_session("local[2]")
    yield session
    stop_session()


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory):
    """The ``small`` preset (seed 0), simulated once."""
    from riskcohort.simulate import simulate

    out = tmp_path_factory.mktemp("spark") / "small"
    simulate(out, preset="small", seed=0)
    return out


@pytest.fixture(scope="session")
def small_dataset(small_dir):
    from riskcohort.contract import load_dataset

    return load_dataset(small_dir)


@pytest.fixture(scope="session")
def duckdb_small(small_dataset):
    from riskcohort.features.engine import build

    return build(small_dataset, SMALL_DATES, labels=True, engine="duckdb")


@pytest.fixture(scope="session")
def spark_small(spark, small_dataset):
    from riskcohort.features.engine import build

    return build(small_dataset, SMALL_DATES, labels=True, engine="spark",
                 spark_master="local[2]")
