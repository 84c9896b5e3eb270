"""``build``: indicators (and labels) for many snapshots in one pass, on DuckDB.

Why this shape: the indicator logic is written once as Ibis expressions (``spec.py``,
``sources.py``, ``relationship.py``) and compiled once to SQL (``plan.py``); the same expressions
compile to Spark SQL (Ibis' PySpark backend; ``sqlglot`` transpiles the DuckDB text too, tested).
Every snapshot date is processed in the same query: the population ``(person_id, as_of)``,
numbered ``rid``, is range-joined to each source (``known_at < as_of``) and aggregated by
``rid``; there is no Python loop over people or dates, a dozen queries in all. Inputs are
registered as Arrow tables (converted from pandas once, scanned by every query); the population
is a DuckDB temp table.

Memory: the Arrow tables share the loaded frames' buffers (strings are Arrow already), where
DuckDB temp tables copied the national tables (2.3 GB); the indicators are written into one
preallocated block (see :func:`build`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES
from riskcohort.features import relationship as rel
from riskcohort.features import spark_engine
from riskcohort.features.data import absent_sources, as_of_index, normalise, tables_of
from riskcohort.features.defs import SPECS
from riskcohort.features.labels import check_horizon
from riskcohort.features.plan import by_source, compile_labels, compile_plan
from riskcohort.features.sources import SOURCE_TABLES

logger = logging.getLogger(__name__)

AGE_NAME = "age_at_as_of"
#: Population rows aggregated per pass on DuckDB (:func:`build`): 10^6 rows x 117 indicators
#: hold ~1.9 GB in flight; a force's snapshot (~0.2 M rows) is one pass.
CHUNK_ROWS = 1_000_000


def indicator_names() -> list[str]:
    """All indicator columns in output order (the catalogue is checked against this)."""
    return [s.name for s in SPECS] + [AGE_NAME] + list(rel.NAMES)


@lru_cache(maxsize=1)
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (opening one costs ~0.1 s); each call uses a cursor.

    Allocator background threads return memory freed by one query before the next one peaks
    (~0.3 GB less peak at national scale, no measurable time).
    """
    con = duckdb.connect(config={"allocator_background_threads": True})
    threads = os.environ.get("RISKCOHORT_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def connect(tables: dict[str, pd.DataFrame], materialize: bool = False):
    """A DuckDB cursor with the tables under their contract names: Arrow tables if
    ``materialize`` (large tables scanned by many queries: DuckDB scans Arrow faster than pandas,
    and the conversion shares the frames' buffers), else views of the DataFrames.

    Registrations and temp tables are private to the cursor, so concurrent calls do not see each
    other's data.
    Threads: ``RISKCOHORT_THREADS`` if set, else DuckDB's default (all cores).
    """
    con = _database().cursor()
    for name, frame in tables.items():
        if materialize:  # scanned by a dozen queries: as Arrow, converted from pandas once
            con.register(name, pa.Table.from_pandas(frame, preserve_index=False))
        else:
            con.register(name, frame)
    return con


def run(con: Any, sql: str) -> pd.DataFrame:  # a DuckDB cursor or a spark_engine.SparkCursor
    out = con.sql(sql).df()
    for col in out.columns:
        if str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].astype("datetime64[ns]")
    return out


def placed(agg: pd.DataFrame, n: int) -> pd.DataFrame:
    """Aggregate rows keyed by ``rid`` put at their population position (missing rows NaN)."""
    return agg.set_index("rid").reindex(pd.RangeIndex(n))


def _finish(popdf: pd.DataFrame, agg: pd.DataFrame, specs):
    """``(name, values)`` of each spec, one at a time (the caller stores each as it comes: a
    dozen population-long arrays at once cost ~0.5 GB at national scale)."""
    merged = placed(agg, len(popdf))
    del agg  # the caller passes the query result only to this call: freed once placed
    merged["as_of"] = popdf["as_of"].to_numpy()
    for spec in specs:
        yield spec.name, spec.finalize(merged).to_numpy(dtype="float64")


def _relationship(con, plan, popdf, out: dict[str, np.ndarray]) -> None:
    """Fill the relationship indicators into ``out`` (arrays of NaN, one per name)."""
    if "current" not in plan:
        return
    con.execute(f"CREATE TEMP TABLE cur AS {plan['current']}")
    cur = run(con, f"SELECT rid, {', '.join(rel.ATTRIBUTES)} FROM cur")  # no strings to pandas
    rows = cur["rid"].to_numpy()
    for name in rel.ATTRIBUTES:
        out[name][rows] = cur[name].to_numpy(dtype="float64")
    del cur
    base = popdf.iloc[rows].reset_index(drop=True)
    for steps in plan["rel_aggregate"].values():
        for specs, sql in steps:
            agg = run(con, sql)
            # positions within ``cur`` rows: persons with a current relationship and no row get 0
            agg["rid"] = pd.Series(np.arange(len(rows)), index=rows).reindex(agg["rid"]).to_numpy()
            for name, values in _finish(base, agg, specs):
                out[name][rows] = values
    con.execute("DROP TABLE cur")  # ~0.7 GB at national scale, not needed by later queries


def _labels(con, popdf: pd.DataFrame, horizon_days, serious_offences, domestic_only,
            labels_known_by, dialect: str) -> pd.DataFrame:
    """``serious_harm``, ``homicide`` (int) and ``harm_weight`` per population row, in order."""
    sql = compile_labels(
        int(horizon_days), tuple(serious_offences), bool(domestic_only),
        None if labels_known_by is None else pd.Timestamp(labels_known_by), dialect,
    )
    lab = placed(run(con, sql), len(popdf))
    return pd.DataFrame({
        "serious_harm": lab["serious_harm"].fillna(0).astype("int64").to_numpy(),
        "homicide": lab["homicide"].fillna(0).astype("int64").to_numpy(),
        "harm_weight": lab["harm_weight"].astype("float64").fillna(0.0).to_numpy(),
    })


def _restrict(con, popdf: pd.DataFrame, lab: pd.DataFrame | None,
              keep: Callable[[pd.DataFrame], np.ndarray]
              ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The population (DuckDB ``pop`` and ``popdf``) and labels (if any) cut to the rows
    ``keep`` chooses, renumbered ``rid`` 0..m-1 in the same order (``placed`` relies on it)."""
    keys = pd.DataFrame({"person_id": popdf["person_id"].to_numpy(),
                         "as_of": popdf["as_of"].to_numpy()})
    mask = np.asarray(keep(keys if lab is None else pd.concat([keys, lab], axis=1)), dtype=bool)
    if mask.shape != (len(popdf),):
        raise ValueError(f"keep returned {mask.shape}, expected ({len(popdf)},)")
    kept = np.flatnonzero(mask)
    con.register("kept_rids", pd.DataFrame({"old_rid": kept, "new_rid": np.arange(len(kept))}))
    columns = ", ".join("k.new_rid AS rid" if c == "rid" else f'p."{c}"' for c in popdf.columns)
    con.execute(f"CREATE TEMP TABLE pop_kept AS SELECT {columns} FROM pop p "
                "JOIN kept_rids k ON p.rid = k.old_rid ORDER BY k.new_rid")
    con.execute("DROP TABLE pop")
    con.execute("ALTER TABLE pop_kept RENAME TO pop")
    con.unregister("kept_rids")
    popdf = popdf.iloc[kept].reset_index(drop=True)
    popdf["rid"] = np.arange(len(kept), dtype=popdf["rid"].dtype)
    return popdf, None if lab is None else lab.iloc[kept].reset_index(drop=True)


def row_spans(n: int, chunk_rows: int | None) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of population rows aggregated together: one span unless
    ``chunk_rows`` is given and smaller than ``n``.

    >>> row_spans(5, 2), row_spans(5, None), row_spans(0, 2)
    ([(0, 2), (2, 4), (4, 5)], [(0, 5)], [(0, 0)])
    """
    if not chunk_rows or n <= chunk_rows:
        return [(0, n)]
    return [(lo, min(lo + chunk_rows, n)) for lo in range(0, n, chunk_rows)]


def _narrow(con, popdf: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    """DuckDB ``pop`` made of the rows ``lo..hi-1`` of ``pop_all``, ``rid`` renumbered from 0
    (``placed`` relies on it); returns the same rows of ``popdf``, renumbered alike."""
    columns = ", ".join(f"rid - {lo} AS rid" if c == "rid" else f'"{c}"' for c in popdf.columns)
    con.execute(f"CREATE TEMP TABLE pop AS SELECT {columns} FROM pop_all "
                f"WHERE rid >= {lo} AND rid < {hi} ORDER BY rid")
    part = popdf.iloc[lo:hi].reset_index(drop=True)
    part["rid"] = np.arange(hi - lo, dtype=popdf["rid"].dtype)
    return part


def _indicators(con, plan, popdf: pd.DataFrame, columns: dict[str, np.ndarray], tables: dict,
                notes: list[str]) -> set[str]:
    """Run the compiled queries over ``pop`` and write each indicator into ``columns`` (arrays
    of ``len(popdf)``, views into the caller's block); returns the names written. Sources
    absent from ``tables`` are noted and left to the caller (NaN)."""
    for name in rel.NAMES:  # written row by row: NaN where a person has no relationship
        columns[name][:] = np.nan
    # first, while little of the block is written: its DuckDB temp table is the largest
    _relationship(con, plan, popdf, columns)
    filled = set(rel.NAMES)
    for source in by_source():
        if source in plan["aggregate"]:
            for group, sql in plan["aggregate"][source]:
                for name, values in _finish(popdf, run(con, sql), group):
                    columns[name][:] = values
                    filled.add(name)
        else:  # left NaN
            missing = [n for n in SOURCE_TABLES[source] if n not in tables]
            notes.append(f"indicators from {'+'.join(missing)} are NaN ({source})")
    return filled


def _engine(engine: str | None, master: str | None) -> tuple[str, str | None]:
    """The engine and Spark master of a call: the arguments, else the job's ``--engine``."""
    from riskcohort.spark.session import ENGINES, selected

    chosen, chosen_master = selected()
    engine = engine or chosen
    if engine not in ENGINES:
        raise ValueError(f"features: engine {engine!r} is not one of {ENGINES}")
    return engine, (master or chosen_master)


def build(
    data: Any,
    as_of: Any,
    *,
    labels: bool = False,
    horizon_days: int = 365,
    serious_offences: Iterable[str] = SERIOUS_HARM_OFFENCES,
    domestic_only: bool = True,
    lookback_days: int = 1825,
    labels_known_by: Any = None,
    engine: str | None = None,
    spark_master: str | None = None,
    keep: Callable[[pd.DataFrame], np.ndarray] | None = None,
    chunk_rows: int | None = CHUNK_ROWS,
) -> pd.DataFrame:
    """One row per (person_id, as_of) of the scored population; float indicator columns.

    ``keep``: given the population's ``person_id``, ``as_of`` and (with ``labels``) labels, a
    boolean mask of the rows to build. Why: a training job samples its negatives by a row hash
    that needs only those columns, so sampling before the indicators are aggregated builds a
    fifth (a national job: a twentieth) of the rows, with the same values for every row kept.
    ``frame.attrs["population_rows"]`` is the population before ``keep``. On Spark the whole
    population is built and ``keep`` applied to the result (same rows, same values).

    ``chunk_rows``: on DuckDB, rows aggregated per pass (:data:`CHUNK_ROWS`; ``None``: all at
    once). Why: a query's result holds ~16 bytes per row and indicator in flight, ~6 GB for a
    whole national snapshot at once; a row's values depend on its own records only, so the
    passes give the same frame, bit for bit (tests/features/test_population_labels.py).

    ``engine``: ``"duckdb"`` (in process) or ``"spark"`` (the same compiled plan on Apache Spark,
    ``spark_engine.py``; same frame); default: the job's ``--engine``
    (:func:`riskcohort.spark.session.use_engine`).

    >>> import pandas as pd
    >>> ts = pd.Timestamp
    >>> persons = pd.DataFrame({"person_id": ["p1", "v1"], "birth_date": [ts("1990-01-01"), None],
    ...     "sex": ["male", "female"], "ethnicity": ["white", "white"], "death_date": [None, None]})
    >>> inc = pd.DataFrame({"incident_id": ["i1"], "occurred_at": [ts("2024-01-01")],
    ...     "recorded_at": [ts("2024-01-02")], "perpetrator_id": ["p1"], "victim_id": ["v1"],
    ...     "relationship_id": [None], "domestic": pd.array([True], dtype="boolean"),
    ...     "offence": ["abh"], "weapon": [None], "injury": [None], "children_present": [None],
    ...     "alcohol": [None], "drugs": [None], "order_id": [None]})
    >>> f = build({"persons": persons, "incidents": inc}, ["2024-03-01"])
    >>> f[["person_id", "da_count_365d", "days_since_last_da"]].to_dict("records")
    [{'person_id': 'p1', 'da_count_365d': 1.0, 'days_since_last_da': 60.0}]
    >>> f.attrs["notes"][0]
    'absent source: custody'
    """
    tables = normalise(tables_of(data))
    snapshots = as_of_index(as_of)
    if labels:
        check_horizon(snapshots, tables["incidents"], horizon_days, labels_known_by)
    engine, spark_master = _engine(engine, spark_master)
    dialect = "duckdb" if engine == "duckdb" else spark_engine.DIALECT
    if engine == "spark":  # connect first: the pyspark compiler needs the backend loaded
        con = spark_engine.connect(tables, spark_master)
    plan = compile_plan(tuple(sorted(tables)), int(lookback_days), dialect)
    if engine == "duckdb":
        con = connect(tables, materialize=True)
    con.register("snapshots", pd.DataFrame({"as_of": snapshots}))
    con.execute(f"CREATE TEMP TABLE pop AS {plan['population']}")
    popdf = run(con, "SELECT * FROM pop ORDER BY rid")
    if not np.array_equal(popdf["rid"].to_numpy(), np.arange(len(popdf))):
        raise RuntimeError("population row ids are not 0..n-1")  # placed() relies on it
    population_rows = len(popdf)
    lab = _labels(con, popdf, horizon_days, serious_offences, domestic_only, labels_known_by,
                  dialect) if labels else None
    if keep is not None and engine == "duckdb":
        popdf, lab = _restrict(con, popdf, lab, keep)
    notes = [f"absent source: {name}" for name in absent_sources(tables)]

    # One float block, a row per indicator, filled in place and wrapped without a copy (a dict
    # of columns, a frame of them and a concat held three copies: ~5 GB at national scale).
    # ``empty``: a row's pages take memory only once written, so the block does not sit on top
    # of the queries' peak; rows never written are NaN-filled at the end.
    names = indicator_names()
    block = np.empty((len(names), len(popdf)))
    filled: set[str] = set()
    spans = row_spans(len(popdf), chunk_rows if engine == "duckdb" else None)
    if len(spans) > 1:  # each span gets its own ``pop`` (the queries read that name)
        con.execute("ALTER TABLE pop RENAME TO pop_all")
    for lo, hi in spans:
        part = popdf if len(spans) == 1 else _narrow(con, popdf, lo, hi)
        columns = {name: row[lo:hi] for name, row in zip(names, block, strict=True)}
        filled |= _indicators(con, plan, part, columns, tables, notes)
        if len(spans) > 1:
            con.execute("DROP TABLE pop")
        del part, columns
    columns = dict(zip(names, block, strict=True))
    age = (popdf["as_of"] - popdf["birth_date"]).dt.days / 365.25
    columns[AGE_NAME][:] = age.to_numpy(dtype="float64")
    filled.add(AGE_NAME)
    for name in names:
        if name not in filled:
            columns[name][:] = np.nan
    frame = pd.DataFrame(block.T, columns=names, copy=False)
    # same dtypes whether or not the population is empty
    frame.insert(0, "as_of", popdf["as_of"].astype("datetime64[ns]").to_numpy())
    frame.insert(0, "person_id", popdf["person_id"].astype("str").array)
    if lab is not None:
        for col in lab.columns:
            frame[col] = lab[col].to_numpy()
    if keep is not None and engine != "duckdb":
        frame = frame.loc[np.asarray(keep(frame), dtype=bool)].reset_index(drop=True)
    con.close()
    frame.attrs["notes"] = list(dict.fromkeys(notes))
    frame.attrs["population_rows"] = population_rows
    logger.debug("features: %d rows x %d columns (labels: %s)", len(frame), frame.shape[1],
                 labels)
    return frame
