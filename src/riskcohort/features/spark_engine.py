"""The Spark path of :func:`riskcohort.features.engine.build` (``--engine spark``).

Why this shape: the indicator logic exists once, as Ibis expressions compiled by ``plan.py``.
``build`` runs a dozen SQL steps on a cursor that can ``register`` a table, ``execute`` a
``CREATE TEMP TABLE x AS ...``/``DROP TABLE x`` and answer ``sql(q).df()``; this module gives it
that cursor on Apache Spark, through Ibis' PySpark backend: the plan is compiled with Ibis'
PySpark compiler (``compile_plan(..., dialect="pyspark")``) and executed by the backend
(``raw_sql``) on the session of :mod:`riskcohort.spark.session`. The pandas steps after each query
(placing aggregates by ``rid``, ``Spec.finalize``) are the DuckDB engine's own, so both engines
give the same frame: same rows, same order, same dtypes, NaN where NaN (tests/spark).

What runs where: the contract tables travel to Spark once (Arrow), every join and aggregation
runs in Spark, and only the per-person aggregates come back (Arrow) to be placed in the output
frame on the driver. A temp table is cached in Spark memory (``pop``, ``cur``) so its row ids are
computed once. Each ``build`` works in its own ``SparkSession.newSession()`` (same JVM and cache,
its own temp views), so concurrent builds never see each other's tables.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd
import pyarrow as pa

from riskcohort.features.data import schemas

logger = logging.getLogger(__name__)

DIALECT = "pyspark"
_CREATE = re.compile(r"^\s*CREATE\s+TEMP\s+TABLE\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+(\w+)\s*$", re.I)


def backend(master: str | None = None) -> Any:
    """Ibis' PySpark backend on the process's session (connecting also registers the
    backend's compile options, which ``ibis.to_sql(..., dialect="pyspark")`` reads)."""
    import ibis

    from riskcohort.spark.session import get_session

    return ibis.pyspark.connect(get_session(master).newSession())


class _Result:
    def __init__(self, frame):
        self._frame = frame

    def df(self) -> pd.DataFrame:
        """The Spark result as pandas, through Arrow."""
        return self._frame.toPandas()


class SparkCursor:
    """The part of a DuckDB cursor that ``engine.build`` uses, on Spark (see module doc)."""

    def __init__(self, ibis_backend: Any):
        self.backend = ibis_backend
        self.session = ibis_backend._session
        self._views: dict[str, Any] = {}

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` as temp view ``name`` (contract tables with their fixed schema)."""
        import ibis
        from ibis.backends.pyspark.datatypes import PySparkSchema

        table = pa.Table.from_pandas(frame, preserve_index=False)
        known = schemas().get(name)
        if known is not None:
            schema = PySparkSchema.from_ibis(ibis.schema(known))
            table = table.select(list(known))
        else:
            schema = PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(table.schema))
        # Spark reads Arrow timestamps in microseconds (its own resolution)
        table = pa.Table.from_arrays(
            [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c
             for c in table.columns], names=table.column_names)
        df = self.session.createDataFrame(table, schema=schema)
        df.createOrReplaceTempView(name)
        self._views[name] = None

    def execute(self, statement: str) -> None:
        """``CREATE TEMP TABLE name AS query`` (cached and counted once) or ``DROP TABLE name``."""
        create = _CREATE.match(statement)
        if create:
            name, query = create.groups()
            df = self.backend.raw_sql(query).cache()
            df.count()  # materialise now: later queries read the cached rows, row ids included
            df.createOrReplaceTempView(name)
            self._views[name] = df
            return
        drop = _DROP.match(statement)
        if drop:
            self._drop(drop.group(1))
            return
        raise ValueError(f"spark engine: unsupported statement {statement[:60]!r}")

    def sql(self, query: str) -> _Result:
        return _Result(self.backend.raw_sql(query))

    def _drop(self, name: str) -> None:
        cached = self._views.pop(name, None)
        self.session.catalog.dropTempView(name)
        if cached is not None:
            cached.unpersist()

    def close(self) -> None:
        for name in list(self._views):
            self._drop(name)


def connect(tables: dict[str, pd.DataFrame], master: str | None = None) -> SparkCursor:
    """A :class:`SparkCursor` with ``tables`` registered under their contract names."""
    con = SparkCursor(backend(master))
    for name, frame in tables.items():
        con.register(name, frame)
    logger.info("spark: %d tables registered (%s rows)", len(tables),
                f"{sum(len(f) for f in tables.values()):,}")
    return con
