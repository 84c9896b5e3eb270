"""``build``: indicators (and labels) for many snapshots in one pass, on DuckDB.

Why this shape: the indicator logic is written once as Ibis expressions (``spec.py``,
``sources.py``, ``relationship.py``) and compiled to SQL (``plan.py``); the same plan compiles to
Spark SQL unchanged. Every snapshot date is processed in the same query: the population
``(person_id, as_of)`` is range-joined to each source (``known_at < as_of``) and aggregated by
``(person_id, as_of)``; there is no Python loop over people or dates, one query per source.
"""

from __future__ import annotations

import os
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES
from riskcohort.features import relationship as rel
from riskcohort.features.data import absent_sources, as_of_index, normalise, tables_of
from riskcohort.features.defs import SPECS
from riskcohort.features.labels import check_horizon
from riskcohort.features.plan import KEYS, by_source, compile_labels, compile_plan
from riskcohort.features.sources import SOURCE_TABLES

AGE_NAME = "age_at_as_of"


def indicator_names() -> list[str]:
    """All indicator columns in output order (the catalogue is checked against this)."""
    return [s.name for s in SPECS] + [AGE_NAME] + list(rel.NAMES)


@lru_cache(maxsize=1)
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (opening one costs ~0.1 s); each call uses a cursor."""
    con = duckdb.connect()
    threads = os.environ.get("RISKCOHORT_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def connect(tables: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    """A DuckDB cursor with the tables registered under their contract names.

    Registrations are private to the cursor, so concurrent calls do not see each other's data.
    Threads: ``RISKCOHORT_THREADS`` if set, else DuckDB's default (all cores).
    """
    con = _database().cursor()
    for name, frame in tables.items():
        con.register(name, frame)
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    out = con.sql(sql).df()
    for col in out.columns:
        if str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].astype("datetime64[ns]")
    return out


def _finish(base: pd.DataFrame, agg: pd.DataFrame, specs) -> pd.DataFrame:
    merged = base[KEYS].merge(agg, on=KEYS, how="left")
    return pd.DataFrame({s.name: s.finalize(merged).to_numpy() for s in specs}, index=base.index)


def _relationship(con, plan, popdf) -> pd.DataFrame:
    out = pd.DataFrame(np.nan, index=popdf.index, columns=list(rel.NAMES))
    if "current" not in plan:
        return out
    cur = run(con, plan["current"])
    con.register("cur", cur)
    idx = popdf[KEYS].reset_index().merge(cur, on=KEYS, how="inner")
    rows = idx["index"].to_numpy()
    out.loc[rows, list(rel.ATTRIBUTES)] = idx[list(rel.ATTRIBUTES)].to_numpy(dtype="float64")
    for source, specs in rel.spec_groups():
        if source in plan["rel_aggregate"]:
            vals = _finish(idx, run(con, plan["rel_aggregate"][source]), specs)
            out.loc[rows, [s.name for s in specs]] = vals.to_numpy(dtype="float64")
    return out


def build(
    data,
    as_of,
    *,
    labels: bool = False,
    horizon_days: int = 365,
    serious_offences=SERIOUS_HARM_OFFENCES,
    domestic_only: bool = True,
    lookback_days: int = 1825,
    labels_known_by=None,
) -> pd.DataFrame:
    """One row per (person_id, as_of) of the scored population; float indicator columns.

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
    plan = compile_plan(tuple(sorted(tables)), int(lookback_days))
    con = connect(tables)
    con.register("snapshots", pd.DataFrame({"as_of": snapshots}))
    popdf = run(con, plan["population"])
    popdf = popdf.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
    con.register("pop", popdf[KEYS])
    notes = [f"absent source: {name}" for name in absent_sources(tables)]

    parts = [popdf[KEYS]]
    for source, specs in by_source().items():
        if source in plan["aggregate"]:
            parts.append(_finish(popdf, run(con, plan["aggregate"][source]), specs))
        else:
            parts.append(pd.DataFrame(np.nan, index=popdf.index, columns=[s.name for s in specs]))
            missing = [n for n in SOURCE_TABLES[source] if n not in tables]
            notes.append(f"indicators from {'+'.join(missing)} are NaN ({source})")
    age = (popdf["as_of"] - popdf["birth_date"]).dt.days / 365.25
    parts.append(pd.DataFrame({AGE_NAME: age.astype("float64")}, index=popdf.index))
    parts.append(_relationship(con, plan, popdf))
    frame = pd.concat(parts, axis=1)[KEYS + indicator_names()]
    if labels:
        sql = compile_labels(
            int(horizon_days), tuple(serious_offences), bool(domestic_only),
            None if labels_known_by is None else pd.Timestamp(labels_known_by),
        )
        frame = frame.merge(run(con, sql), on=KEYS, how="left")
        for col in ("serious_harm", "homicide"):
            frame[col] = frame[col].fillna(0).astype("int64")
        frame["harm_weight"] = frame["harm_weight"].astype("float64").fillna(0.0)
    con.close()
    frame.attrs["notes"] = list(dict.fromkeys(notes))
    return frame
