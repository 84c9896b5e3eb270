"""Compile the indicator definitions to SQL once, over named placeholder tables.

Why: Ibis builds the query plan (portable: the same expressions compile to DuckDB here and to
Spark SQL via ``dialect="pyspark"``), but compiling costs ~50 ms per query. The plan depends only
on which tables are present and on the parameters, so it is compiled once per process and cached;
execution binds the placeholder names (``incidents``, ``pop``, ``cur``...) to DataFrames. The
evidence view reuses the same compiled conditions on one person's rows.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import ibis

from riskcohort.features import relationship as rel
from riskcohort.features.data import schemas
from riskcohort.features.defs import SPECS
from riskcohort.features.labels import labels as label_expr
from riskcohort.features.population import population
from riskcohort.features.sources import build_sources
from riskcohort.features.spec import Distinct, with_age

KEYS = ["person_id", "as_of"]
#: ``pop`` rows are numbered (``rid``) so aggregates group by one integer and land in place.
POP_SCHEMA = {"rid": "int64", "person_id": "string", "as_of": "timestamp"}
_BASE = ["record_id", "table", "known_at", "event_at", "victim_id", "kind"]


def by_source(specs=SPECS) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for spec in specs:
        out[spec.source].append(spec)
    return dict(out)


def join_source(pop: ibis.Table, src: ibis.Table) -> ibis.Table:
    """Population x source rows of the same person known before T (the point-in-time join)."""
    return with_age(pop.join(src, [pop.person_id == src.subject, src.known_at < pop.as_of]))


def join_prepared(pop: ibis.Table, src: ibis.Table, specs) -> ibis.Table:
    """:func:`join_source` plus the columns the source's specs add (``Spec.prepare``)."""
    joined = join_source(pop, src)
    for spec in specs:
        joined = spec.prepare(joined)
    return joined


def _aggregate(joined: ibis.Table, specs) -> ibis.Table:
    aggs: dict = {}
    for spec in specs:
        aggs.update(spec.aggregates(joined))
    return joined.group_by("rid").aggregate(**aggs)


def _split(specs) -> list[tuple]:
    """Distinct counts in a query of their own: mixed with plain aggregates DuckDB fans the
    joined rows out to several consumers, which made the whole query several times slower."""
    distinct = tuple(s for s in specs if isinstance(s, Distinct))
    plain = tuple(s for s in specs if not isinstance(s, Distinct))
    return [g for g in (plain, distinct) if g]


def _union_rows(branches, universe) -> ibis.Table:
    """Candidate rows of several (joined source, specs) branches in one UNION ALL, with one
    condition column per spec of ``universe`` (false in other branches), so evidence runs one
    query instead of one per source."""
    values = {"harm": "float64", "grade_rank": "float64"}
    parts = []
    for j, specs in branches:
        mine = {s.name for s in specs}
        cols = {c: j[c] for c in _BASE}
        cols.update({v: (j[v] if v in j.columns else ibis.null()).cast(t)
                     for v, t in values.items()})
        cols.update({f"__{s.name}": (s.condition(j) if s.name in mine else ibis.literal(False))
                     for s in universe})
        parts.append(j.select(**cols))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _placeholders(present: tuple[str, ...]):
    sch = schemas()
    t = {n: ibis.table(sch[n], name=n) for n in present}
    return t, build_sources(t), ibis.table(POP_SCHEMA, name="pop")


@lru_cache(maxsize=32)
def compile_plan(present: tuple[str, ...], lookback_days: int, dialect: str = "duckdb") -> dict:
    """SQL per step: population, one aggregate per source, relationship steps, evidence rows."""
    t, srcs, pop = _placeholders(present)
    sql = lambda e: ibis.to_sql(e, dialect=dialect)  # noqa: E731
    snaps = ibis.table({"as_of": "timestamp"}, name="snapshots")
    plan: dict = {"population": sql(population(t["incidents"], t["persons"], snaps, lookback_days,
                                               t.get("custody")))}
    plan["aggregate"] = {}
    for source, specs in by_source().items():
        if source in srcs:
            joined = join_prepared(pop, srcs[source], specs)
            plan["aggregate"][source] = [(g, sql(_aggregate(joined, g))) for g in _split(specs)]
    branches = [(join_prepared(pop, srcs[src], specs), specs) for src, specs in by_source().items()
                if src in srcs]
    plan["rows_all"] = sql(_union_rows(branches, SPECS))
    if "incidents_rel" in srcs:
        current = rel.current(pop, srcs["incidents_rel"], t["relationships"])
        plan["current"] = sql(current)
        cur = ibis.table(current.schema(), name="cur")
        joins = {"incidents_rel": rel.join_incidents, "assessments": rel.join_assessments}
        plan["rel_aggregate"] = {}
        rel_branches: list[tuple] = []
        for source, rel_specs in rel.spec_groups():
            if source in srcs:
                joined = joins[source](cur, srcs[source])
                plan["rel_aggregate"][source] = [(rel_specs, sql(_aggregate(joined, rel_specs)))]
                rel_branches.append((joined, rel_specs))
        universe = [s for _, specs in rel.spec_groups() for s in specs]
        plan["rel_rows_all"] = sql(_union_rows(rel_branches, universe))
    return plan


@lru_cache(maxsize=32)
def compile_labels(
    horizon_days: int, serious_offences: tuple, domestic_only: bool, labels_known_by,
    dialect: str = "duckdb",
) -> str:
    """SQL of the labels step over placeholders ``pop`` and ``incidents``."""
    inc = ibis.table(schemas()["incidents"], name="incidents")
    pop = ibis.table(POP_SCHEMA, name="pop")
    expr = label_expr(
        pop, inc, horizon_days=horizon_days, serious_offences=serious_offences,
        domestic_only=domestic_only, labels_known_by=labels_known_by,
    )
    return ibis.to_sql(expr, dialect=dialect)
