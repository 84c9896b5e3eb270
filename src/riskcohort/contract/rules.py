"""Row-level rules: decide, vectorised, which rows of a table are accepted and which quarantined.

Each row gets at most one rule: the first it breaks, in this order (so the outcome does not
depend on anything but the row and the tables it references):

1. ``invalid_type``    a value that cannot be read as its column's type
2. ``null_in_required`` a null in a non-null column
3. ``unknown_enum``    a value outside the column's listed values
4. order rules from the schema (``recorded_before_occurred``, ``end_before_start``,
   ``end_recorded_before_recorded``, ...)
5. ``same_person``     two columns that must differ are equal (``person_a_id == person_b_id``)
6. ``duplicate_key``   a primary key already used by an earlier valid row (the first wins)
7. ``missing_reference``  an id that does not exist in the referenced table
8. ``dangling_reference`` an id whose row exists but was itself quarantined (the cascade)

References to an optional table that is absent are not checked (nothing to check against).
Rows are processed table by table in reference order, so a quarantined person cascades to the
incidents, orders, ... that name it.

Memory (national scale: 33M rows): a table is typed one column at a time from the Arrow table
read (see :mod:`riskcohort.contract.reader`), text is made only for the columns and rows that
need it, and the accepted rows are taken column by column, so a table costs its typed columns
plus one column in flight, not its text, its typed copy and a filtered copy at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskcohort.contract import coerce
from riskcohort.contract.marks import Marked, Marker
from riskcohort.contract.reader import RawTable
from riskcohort.contract.schema import BOOL, Column, Table

RULE_ORDER = (
    "invalid_type",
    "null_in_required",
    "unknown_enum",
    "recorded_before_occurred",
    "end_before_start",
    "expires_before_recorded",
    "end_recorded_before_recorded",
    "same_person",
    "duplicate_key",
    "missing_reference",
    "dangling_reference",
)
META_COLUMNS = ("rule", "detail", "source_row")


@dataclass
class KeySets:
    """Keys of a checked table (Arrow text arrays): of ``accepted`` rows, and ``rejected``: keys
    found only in quarantined rows (what tells a dangling reference from a missing one).

    Arrow, because pandas' ``isin`` on Arrow-backed strings turns a large value set into a
    Python list on every call (about a second per reference column at force scale).
    """

    accepted: pa.Array
    rejected: pa.Array


def _arrow_text(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The Arrow array behind a text column (no copy when it is pandas ``str`` already)."""
    return pa.array(text.astype(coerce.STR_DTYPE).array)


def unique_keys(text: pd.Series) -> pa.Array:
    """Distinct non-null values of a text column, as an Arrow array."""
    return pc.unique(pc.drop_null(_arrow_text(text)))


def isin_keys(values: pa.Array | pa.ChunkedArray, keys: pa.Array) -> np.ndarray:
    """Vectorised membership of Arrow text values in an Arrow value set (null -> False)."""
    if keys.type != values.type:
        keys = keys.cast(values.type)
    found = pc.is_in(values, value_set=keys, skip_nulls=True)
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), bool)


@dataclass
class TableResult:
    """Outcome of the row rules for one table."""

    name: str
    path: Path
    n_read: int
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    keys: KeySets | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)  # rule -> up to 5 details
    columns: dict[str, str] = field(default_factory=dict)  # rule -> column it hit most


def table_columns(table: Table, frame_columns) -> list[Column]:
    """The contract columns to parse: the schema's, plus extra ``<prefix>*`` columns."""
    cols = list(table.columns)
    if table.extra_prefix:
        known = set(table.names)
        for name in frame_columns:
            if name.startswith(table.extra_prefix) and name not in known:
                cols.append(Column(name, BOOL, nullable=True, required=False))
    return cols


def _parse_column(raw: RawTable, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Typed column and invalid-value mask; native Parquet types skip the text round trip."""
    n = len(raw)
    if col.name not in raw.columns:  # an optional column the file does not have
        text = pd.Series(np.nan, index=pd.RangeIndex(n), dtype=coerce.STR_DTYPE)
        return coerce.parse_text(coerce.blank_to_null(text), col.type, col.values)
    native = coerce.parse_native(raw.table[col.name], col.type)
    if native is not None:
        return native
    return coerce.parse_text(coerce.blank_to_null(raw.text(col.name)), col.type, col.values)


def _raw_values(raw: RawTable, column: str):
    return lambda rows: raw.text(column, rows)


def check_table(raw: RawTable, table: Table, refs: dict[str, KeySets | None]) -> TableResult:
    """Apply every row rule to one table as read.

    ``refs`` maps a referenced table name to its :class:`KeySets` (None when the table is absent).
    Returns accepted rows typed (index reset) and quarantined rows as read plus rule and detail.
    """
    n = len(raw)
    marker = Marker(n, RULE_ORDER)
    columns = table_columns(table, raw.columns)
    typed: dict[str, pd.Series] = {}
    unknown: dict[str, np.ndarray] = {}  # enum column -> rows outside its values
    for col in columns:
        typed[col.name], bad = _parse_column(raw, col)
        marker.mark(bad, "invalid_type", col.name, _raw_values(raw, col.name))
        if col.values:
            values = typed[col.name]
            unknown[col.name] = values.notna().to_numpy() & ~values.isin(col.values).to_numpy(
                dtype=bool
            )
    for col in columns:
        if not col.nullable:
            marker.mark(
                typed[col.name].isna().to_numpy(), "null_in_required", col.name,
                f"{col.name} is null",
            )
    for name, mask in unknown.items():
        marker.mark(mask, "unknown_enum", name, _raw_values(raw, name))
    for rule in table.order_rules:
        later, earlier = typed[rule.later], typed[rule.earlier]
        broken = (later < earlier).fillna(False).to_numpy(dtype=bool)
        marker.mark(broken, rule.name, rule.later, lambda rows, lt=later, et=earlier, r=rule: [
            f"{r.later}={a} < {r.earlier}={b}"
            for a, b in zip(lt.iloc[rows], et.iloc[rows], strict=True)
        ], values=False)
    for a, b in table.distinct:
        same = (typed[a] == typed[b]).fillna(False).to_numpy(dtype=bool)
        marker.mark(same, "same_person", b, f"{a} == {b}")
    if table.key:
        key = typed[table.key]
        # duplicates are judged among rows still valid, so a broken row cannot claim a key
        valid_keys = key.where(marker.free)
        dup = valid_keys.duplicated(keep="first").to_numpy() & valid_keys.notna().to_numpy()
        del valid_keys
        marker.mark(dup, "duplicate_key", table.key, _text_values(key))
    for col in columns:
        target = refs.get(col.references.split(".")[0]) if col.references else None
        if target is not None:
            _check_reference(marker, col.name, typed[col.name], target)
    return _result(raw, table, typed, marker)


def _text_values(text: pd.Series):
    return lambda rows: text.iloc[rows]


def _check_reference(marker: Marker, name: str, values: pd.Series, target: KeySets) -> None:
    """``missing_reference`` / ``dangling_reference`` for one id column."""
    arrow = _arrow_text(values)
    absent = values.notna().to_numpy() & ~isin_keys(arrow, target.accepted) & marker.free
    if not absent.any():
        return
    rows = np.flatnonzero(absent)
    seen = np.zeros(len(values), dtype=bool)
    seen[rows] = isin_keys(arrow.take(pa.array(rows)), target.rejected)
    marker.mark(absent & ~seen, "missing_reference", name, _text_values(values))
    marker.mark(absent & seen, "dangling_reference", name, _text_values(values))


def _result(raw: RawTable, table: Table, typed: dict[str, pd.Series], marker: Marker):
    free = marker.free
    marked = marker.summary()
    keys = None
    if table.key:
        keys = _keysets(typed[table.key], free, marked.rows)
    n = len(raw)
    keep = None if marked.rows.size == 0 else np.flatnonzero(free)
    extras = [c for c in raw.columns if c not in typed]
    accepted = {}
    for name in [*typed, *extras]:  # one column at a time: typed columns are dropped as taken
        column = typed.pop(name) if name in typed else raw.text(name)
        accepted[name] = column if keep is None else column.take(keep)
        accepted[name] = accepted[name].reset_index(drop=True)
        del column
    rows = pd.RangeIndex(n if keep is None else len(keep))
    accepted_frame = pd.DataFrame(accepted, index=rows, copy=False)  # a dict is copied by default
    del accepted
    counts = marked.counts()
    return TableResult(
        name=table.name,
        path=raw.path,
        n_read=n,
        accepted=accepted_frame,
        quarantine=_quarantine(raw, marked),
        counts=dict(sorted(counts.items(), key=lambda kv: RULE_ORDER.index(kv[0]))),
        keys=keys,
        examples={r: marked.examples(r) for r in counts},
        columns={r: marked.column_of(r) for r in counts},
    )


def _keysets(key: pd.Series, free: np.ndarray, bad_rows: np.ndarray) -> KeySets:
    accepted = unique_keys(key[free]) if bad_rows.size else unique_keys(key)
    bad = unique_keys(key.take(bad_rows))
    rejected = pc.filter(bad, pc.invert(pc.is_in(bad, value_set=accepted)))
    return KeySets(accepted=accepted, rejected=rejected)


def _quarantine(raw: RawTable, marked: Marked) -> pd.DataFrame:
    """Quarantined rows as read (text), plus rule, detail and 1-based source row."""
    index = pd.RangeIndex(len(marked.rows))
    quarantine = pd.DataFrame({c: raw.text(c, marked.rows) for c in raw.columns}, index=index)
    for name in quarantine.columns:
        if quarantine[name].dtype == object:
            quarantine[name] = quarantine[name].map(lambda v: None if v is None else str(v))
    meta = {m: (m if m not in quarantine.columns else f"_quarantine_{m}") for m in META_COLUMNS}
    quarantine[meta["rule"]] = pd.Series(marked.rule, index=index, dtype="str")
    quarantine[meta["detail"]] = pd.Series(marked.detail, index=index, dtype="str")
    quarantine[meta["source_row"]] = marked.rows + 1
    return quarantine


def dominant(result: TableResult) -> tuple[str, int] | None:
    """The rule that quarantined most rows of a table (None if none was quarantined)."""
    if not result.counts:
        return None
    rule = max(result.counts, key=result.counts.__getitem__)
    return rule, result.counts[rule]
