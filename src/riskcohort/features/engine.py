"""``build``: indicators (and labels) for many snapshots in one pass, on DuckDB via Ibis.

Why Ibis: the indicator logic is written once as Ibis expressions (``spec.py``, ``sources.py``,
``relationship.py``); Ibis compiles them to SQL for DuckDB in-process here, and the same
expressions run unchanged on Spark through Ibis' PySpark backend (no hand-written dialect SQL).
Every snapshot date is processed in the same query: the population ``(person_id, as_of)`` is
range-joined to each source (``known_at < as_of``) and aggregated by ``(person_id, as_of)``;
there is no Python loop over people or dates, only one query per source.
"""

from __future__ import annotations

import os
from collections import defaultdict

import ibis
import numpy as np
import pandas as pd

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES
from riskcohort.features import relationship as rel
from riskcohort.features.data import absent_sources, as_of_index, tables_of
from riskcohort.features.defs import SPECS
from riskcohort.features.labels import check_horizon
from riskcohort.features.labels import labels as label_expr
from riskcohort.features.population import population
from riskcohort.features.sources import SOURCE_TABLES, build_sources

KEYS = ["person_id", "as_of"]
AGE_NAME = "age_at_as_of"


def connect() -> ibis.BaseBackend:
    """An in-process DuckDB backend (threads capped by ``RISKCOHORT_THREADS`` if set)."""
    threads = int(os.environ.get("RISKCOHORT_THREADS", "0")) or (os.cpu_count() or 1)
    return ibis.duckdb.connect(threads=threads)


def indicator_names() -> list[str]:
    """All indicator columns in output order (catalogue order is checked against this)."""
    return [s.name for s in SPECS] + [AGE_NAME] + list(rel.NAMES)


def memtables(tables: dict[str, pd.DataFrame]) -> dict[str, ibis.Table]:
    return {name: ibis.memtable(frame) for name, frame in tables.items()}


def join_source(pop: ibis.Table, src: ibis.Table) -> ibis.Table:
    """Population x source rows of the same person known before T (the point-in-time join)."""
    return pop.join(src, [pop.person_id == src.subject, src.known_at < pop.as_of])


def _aggregate(con, joined: ibis.Table, specs) -> pd.DataFrame:
    aggs: dict = {}
    for spec in specs:
        aggs.update(spec.aggregates(joined))
    return con.execute(joined.group_by(KEYS).aggregate(**aggs))


def _finish(base: pd.DataFrame, agg: pd.DataFrame, specs) -> pd.DataFrame:
    merged = base[KEYS].merge(agg, on=KEYS, how="left")
    return pd.DataFrame({s.name: s.finalize(merged).to_numpy() for s in specs}, index=base.index)


def _relationship(con, pop_t, srcs, t, popdf) -> pd.DataFrame:
    out = pd.DataFrame(np.nan, index=popdf.index, columns=list(rel.NAMES))
    if "incidents_rel" not in srcs:
        return out
    cur = con.execute(rel.current(pop_t, srcs["incidents_rel"], t["relationships"]))
    cur_t = ibis.memtable(cur)
    idx = popdf[KEYS].reset_index().merge(cur, on=KEYS, how="inner")
    rows = idx["index"].to_numpy()
    out.loc[rows, list(rel.ATTRIBUTES)] = idx[list(rel.ATTRIBUTES)].to_numpy(dtype="float64")
    joins = {"incidents_rel": rel.join_incidents, "assessments": rel.join_assessments}
    for source, specs in rel.spec_groups():
        if source not in srcs:
            continue
        agg = _aggregate(con, joins[source](cur_t, srcs[source]), specs)
        vals = _finish(idx, agg, specs)
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
    tables = tables_of(data)
    snapshots = as_of_index(as_of)
    if labels:
        check_horizon(snapshots, tables["incidents"], horizon_days, labels_known_by)
    con = connect()
    t = memtables(tables)
    srcs = build_sources(t)
    snap_t = ibis.memtable(pd.DataFrame({"as_of": snapshots}))
    popdf = con.execute(population(t["incidents"], t["persons"], snap_t, lookback_days))
    popdf = popdf.sort_values(KEYS, kind="stable").reset_index(drop=True)
    popdf["person_id"] = popdf["person_id"].astype(str)
    popdf["as_of"] = popdf["as_of"].astype("datetime64[ns]")
    pop_t = ibis.memtable(popdf[KEYS])
    notes = [f"absent source: {name}" for name in absent_sources(tables)]

    by_source: dict[str, list] = defaultdict(list)
    for spec in SPECS:
        by_source[spec.source].append(spec)
    parts = [popdf[KEYS]]
    for source, specs in by_source.items():
        if source in srcs and len(popdf):
            agg = _aggregate(con, join_source(pop_t, srcs[source]), specs)
            parts.append(_finish(popdf, agg, specs))
        else:
            parts.append(pd.DataFrame(np.nan, index=popdf.index, columns=[s.name for s in specs]))
            missing = [n for n in SOURCE_TABLES[source] if n not in tables]
            notes.extend(f"indicators from {source} are NaN: {m} absent" for m in missing)
    age = (popdf["as_of"] - popdf["birth_date"]).dt.days / 365.25
    parts.append(pd.DataFrame({AGE_NAME: age.astype("float64")}, index=popdf.index))
    if len(popdf):
        parts.append(_relationship(con, pop_t, srcs, t, popdf))
    else:
        parts.append(pd.DataFrame(np.nan, index=popdf.index, columns=list(rel.NAMES)))
    frame = pd.concat(parts, axis=1)
    frame = frame[KEYS + indicator_names()]
    if labels:
        lab = con.execute(
            label_expr(
                pop_t, t["incidents"], horizon_days=horizon_days,
                serious_offences=serious_offences, domestic_only=domestic_only,
                labels_known_by=labels_known_by,
            )
        )
        frame = frame.merge(lab, on=KEYS, how="left")
        for col in ("serious_harm", "homicide"):
            frame[col] = frame[col].fillna(0).astype("int64")
        frame["harm_weight"] = frame["harm_weight"].astype("float64").fillna(0.0)
    frame.attrs["notes"] = list(dict.fromkeys(notes))
    return frame
