"""``evidence``: the records behind each indicator value of one person at one date.

Why: an officer challenging a score must see *which* records made it. The rows come from the
same Ibis definitions as ``build`` (``Spec.condition`` over ``population JOIN source``), evaluated
for one (person, T) on the person's own rows only; ``Spec.pick`` then keeps every counted record
for counts and sums, the records at the maximum for a maximum and the latest record for
"days since"/"latest".

Speed (the app and ``riskcohort explain`` call this person by person): for a ``Dataset`` the
person's rows come from an index built once per dataset object (``evidence_cache``), not from a
pass over every table; a plain dict of tables is filtered directly (``_person_tables``). Only the
sources the person has rows in are queried, one small query each (``source_rows_sql``: the
branches of ``plan.rows_all``, typed as that union would be). The SQL is compiled once per process
and parsed once, and each query is bound once (``execute``, not ``sql().df()``, which binds
twice): DuckDB's per-query set-up, not the data, is most of a call.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import ibis
import numpy as np
import pandas as pd

from riskcohort.contract.schema import DEFAULT_LOOKBACK_DAYS
from riskcohort.features import plan as plan_module
from riskcohort.features import relationship as rel
from riskcohort.features.data import as_of_index, normalise, tables_of
from riskcohort.features.defs import SPECS
from riskcohort.features.engine import AGE_NAME, _database, connect, indicator_names
from riskcohort.features.evidence_cache import prepared
from riskcohort.features.plan import by_source, compile_plan
from riskcohort.features.sources import SOURCE_TABLES
from riskcohort.features.spec import Spec

COLUMNS = ["indicator", "table", "record_id", "recorded_at", "kind", "victim_id"]

#: contract table -> columns naming the person whose rows matter for evidence.
_PERSON_COLS = {
    "persons": ("person_id",),
    "incidents": ("perpetrator_id",),
    "risk_assessments": ("perpetrator_id",),
    "orders": ("subject_id",),
    "custody": ("person_id",),
    "markers": ("person_id",),
    "referrals": ("person_id",),
    "interventions": ("person_id",),
}


@lru_cache(maxsize=64)
def _parsed(sql: str):
    """The parsed statement of a compiled query (parsing the ~50 kB union costs ~10 ms)."""
    con = _database().cursor()
    try:
        (statement,) = con.extract_statements(sql)
    finally:
        con.close()
    return statement


def _run(con, sql: str) -> pd.DataFrame:
    """``engine.run`` (same frame, nanosecond datetimes) with one bind instead of two."""
    out = con.execute(_parsed(sql)).df()
    for col in out.columns:
        if str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].astype("datetime64[ns]")
    return out


@lru_cache(maxsize=8)
def _placeholders(present: tuple[str, ...]):
    return plan_module._placeholders(present)


@lru_cache(maxsize=128)
def source_rows_sql(present: tuple[str, ...], source: str, dialect: str = "duckdb") -> str:
    """One source's branch of ``plan.rows_all`` (its rows known before T, one condition column
    per spec of the source) as a query of its own.

    Why: binding the all-source union (~50 kB of SQL, a condition column per spec in every
    branch) cost more than the few small queries of the sources a person has rows in.
    """
    _, srcs, pop = _placeholders(present)
    specs = by_source()[source]
    joined = plan_module.join_prepared(pop, srcs[source], specs)
    return ibis.to_sql(plan_module._union_rows([(joined, specs)], specs), dialect=dialect)


def _union_frames(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The frames typed as one ``UNION ALL`` of them would come back from DuckDB.

    A text column that is null in every row of a result comes back as ``object`` (``None``),
    otherwise as ``str`` (``NaN`` for null): a column with a value in any frame is ``str`` in
    all of them, as in the all-source union this replaces. Empty frames add no row and are
    ignored.
    """
    text = {c: f[c].dtype for f in frames if len(f) for c in f.columns
            if isinstance(f[c].dtype, pd.StringDtype)}
    out = []
    for frame in frames:
        nulls = {c: t for c, t in text.items() if c in frame.columns and frame[c].dtype == object}
        if len(frame) and nulls:
            frame = frame.astype(nulls)
        out.append(frame)
    return out


def _person_tables(tables: dict[str, pd.DataFrame], person_id: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        if name == "relationships" or name not in _PERSON_COLS or frame is None:
            continue
        mask = pd.Series(False, index=frame.index)
        for col in _PERSON_COLS[name]:
            if col in frame.columns:
                mask |= (frame[col] == person_id).fillna(False).astype(bool)
        out[name] = frame[mask]
    own = out["incidents"]
    victims = set(own["victim_id"].dropna().astype(str))
    if "referrals" in out:  # MARAC referrals of the person's victims
        ref = tables["referrals"]
        out["referrals"] = ref[(ref["person_id"] == person_id) | ref["person_id"].isin(victims)]
    if tables.get("relationships") is not None:
        r = tables["relationships"]
        used = set(own["relationship_id"].dropna().astype(str))
        keep = r["relationship_id"].astype(str).isin(used)
        keep |= (r["person_a_id"] == person_id) | (r["person_b_id"] == person_id)
        out["relationships"] = r[keep]
    # victim indicators: the victims' person rows and every incident against them (by anyone)
    inc, persons = tables["incidents"], tables["persons"]
    out["incidents"] = inc[(inc["perpetrator_id"] == person_id) | inc["victim_id"].isin(victims)]
    out["persons"] = persons[(persons["person_id"] == person_id)
                             | persons["person_id"].isin(victims)]
    return out


def _picked(frame: pd.DataFrame, specs) -> list[pd.DataFrame]:
    """Rows passing each spec's condition, then its ``pick`` (vectorised for plain counts)."""
    if frame.empty:
        return []
    names = np.array([s.name for s in specs])
    hits = frame[[f"__{n}" for n in names]].to_numpy(dtype=bool)
    rows, cols = np.nonzero(hits)
    keep = [c for c in frame.columns if not c.startswith("__")]
    long = frame[keep].iloc[rows].assign(indicator=names[cols])
    special = {s.name: s for s in specs if type(s).pick is not Spec.pick}
    out = [long[~long["indicator"].isin(list(special))]]
    for name, spec in special.items():
        out.append(spec.pick(long[long["indicator"] == name]))
    return out


def _relationship_rows(con, plan, wanted) -> list[pd.DataFrame]:
    if "current" not in plan:
        return []
    cur = _run(con, plan["current"])
    if cur.empty:  # no current relationship: every relationship indicator is NaN, no rows
        return []
    con.register("cur", cur)
    parts = []
    for name in rel.ATTRIBUTES:
        hit = cur[cur[name].notna() & (cur[name] != 0)]
        # separation-based values became known with the end, the others with the record
        known = hit["rel_end_known_at"] if name in rel.SEPARATION else hit["rel_record_at"]
        parts.append(pd.DataFrame({
            "indicator": name, "table": "relationships", "record_id": hit["rel_id"],
            "known_at": known, "kind": hit["rel_kind"], "victim_id": hit["other"],
        }))
    specs = [s for _, group in rel.spec_groups() for s in group if s.name in wanted]
    if specs:
        parts.extend(_picked(_run(con, plan["rel_rows_all"]), specs))
    return parts


def evidence(data: Any, person_id: str, as_of: Any,
             indicators: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows ``indicator, table, record_id, recorded_at, kind, victim_id`` for one person at T.

    ``recorded_at`` is when the record became usable (its ``known_at``). A person with no record
    behind an indicator has no row for it; for counts the rows equal the count.
    """
    when = as_of_index([as_of])[0]
    pid = str(person_id)
    cache = prepared(data)  # None for a plain dict of tables
    if cache is None:
        raw = data.tables if hasattr(data, "tables") else data
        mine = normalise(tables_of(_person_tables(raw, pid)))
    else:
        mine = cache.person_tables(pid)
    present = tuple(sorted(mine))
    wanted = set(indicator_names() if indicators is None else indicators)
    have = {name for name, frame in mine.items() if len(frame)}
    # sources with none of the person's rows in one of their tables return nothing: not run
    sources = [s for s in by_source() if set(SOURCE_TABLES[s]) <= have]
    if not any(s.name in wanted for s in SPECS):
        sources = []
    relationship = bool(wanted & set(rel.NAMES)) and {"incidents", "relationships"} <= have
    used = {table for source in sources for table in SOURCE_TABLES[source]}
    if relationship:  # what plan["current"] and plan["rel_rows_all"] read
        used |= {"incidents", "relationships", "risk_assessments"} & set(mine)
    con = connect({name: mine[name] for name in mine if name in used})
    con.register("pop", pd.DataFrame({"rid": [0], "person_id": [pid], "as_of": [when]}))
    parts: list = []
    rows = _union_frames([_run(con, source_rows_sql(present, s)) for s in sources])
    for source, frame in zip(sources, rows, strict=True):
        parts.extend(_picked(frame, [s for s in by_source()[source] if s.name in wanted]))
    if relationship:
        parts.extend(_relationship_rows(con, compile_plan(present, DEFAULT_LOOKBACK_DAYS), wanted))
    con.close()
    person = mine["persons"]
    person = person[person["person_id"] == pid]  # the table also holds his victims
    if AGE_NAME in wanted and len(person) and person["birth_date"].notna().any():
        parts.append(pd.DataFrame({
            "indicator": [AGE_NAME], "table": ["persons"], "record_id": [pid],
            "known_at": [pd.NaT], "kind": ["birth_date"], "victim_id": [None],
        }))
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    out = pd.concat(parts, ignore_index=True).rename(columns={"known_at": "recorded_at"})
    out = out[out["indicator"].isin(wanted)]
    order = {n: i for i, n in enumerate(indicator_names())}
    out = out.assign(_o=out["indicator"].map(order)).sort_values(["_o", "recorded_at", "record_id"])
    return out[COLUMNS].reset_index(drop=True)
