"""Row-level rules: decide, vectorised, which rows of a table are accepted and which quarantined.

Each row gets at most one rule: the first it breaks, in this order (so the outcome does not
depend on anything but the row and the tables it references):

1. ``invalid_type``    a value that cannot be read as its column's type
2. ``null_in_required`` a null in a non-null column
3. ``unknown_enum``    a value outside the column's listed values
4. order rules from the schema (``recorded_before_occurred``, ``end_before_start``, ...)
5. ``same_person``     two columns that must differ are equal (``person_a_id == person_b_id``)
6. ``duplicate_key``   a primary key already used by an earlier valid row (the first wins)
7. ``missing_reference``  an id that does not exist in the referenced table
8. ``dangling_reference`` an id whose row exists but was itself quarantined (the cascade)

References to an optional table that is absent are not checked (nothing to check against).
Rows are processed table by table in reference order, so a quarantined person cascades to the
incidents, orders, ... that name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskcohort.contract import coerce
from riskcohort.contract.reader import RawTable
from riskcohort.contract.schema import BOOL, Column, Table

RULE_ORDER = (
    "invalid_type",
    "null_in_required",
    "unknown_enum",
    "recorded_before_occurred",
    "end_before_start",
    "expires_before_recorded",
    "same_person",
    "duplicate_key",
    "missing_reference",
    "dangling_reference",
)
META_COLUMNS = ("rule", "detail", "source_row")
_MAX_VALUE_CHARS = 60


@dataclass
class KeySets:
    """Keys of a checked table: of ``accepted`` rows and all keys ``seen`` (Arrow text arrays).

    Arrow, because pandas' ``isin`` on Arrow-backed strings turns a large value set into a
    Python list on every call (about a second per reference column at force scale).
    """

    accepted: pa.Array
    seen: pa.Array


def _arrow_text(text: pd.Series) -> pa.Array:
    return pa.array(text.astype(coerce.STR_DTYPE).array, type=pa.string())


def unique_keys(text: pd.Series) -> pa.Array:
    """Distinct non-null values of a text column, as an Arrow array."""
    return pc.unique(pc.drop_null(_arrow_text(text)))


def isin_keys(text: pd.Series, keys: pa.Array) -> np.ndarray:
    """Vectorised membership of a text column in an Arrow value set (null -> False)."""
    found = pc.is_in(_arrow_text(text), value_set=keys, skip_nulls=True)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False).astype(bool)


@dataclass
class TableResult:
    """Outcome of the row rules for one table."""

    name: str
    path: object
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


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


class _Marker:
    """Collects (rule, column, detail) for the first rule each row breaks."""

    def __init__(self, n: int):
        self.free = np.ones(n, dtype=bool)
        self.rule = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)

    def mark(self, mask, rule: str, column: str, details, *, values: bool = True) -> None:
        """Mark rows in ``mask`` not yet marked. ``details``: one text, or one per row (raw
        values shown as ``column='value'`` when ``values``, else used as written)."""
        hit = np.asarray(mask, dtype=bool) & self.free
        if not hit.any():
            return
        self.free &= ~hit
        self.rule[hit] = rule
        self.column[hit] = column
        if isinstance(details, str):
            self.detail[hit] = details
        elif values:
            self.detail[hit] = [_short_detail(column, v) for v in np.asarray(details)[hit]]
        else:
            self.detail[hit] = np.asarray(details, dtype=object)[hit]


def _short_detail(column: str, value) -> str:
    return f"{column}={_short(value)!r}"


def check_table(raw: RawTable, table: Table, refs: dict[str, KeySets | None]) -> TableResult:
    """Apply every row rule to one table read as text.

    ``refs`` maps a referenced table name to its :class:`KeySets` (None when the table is absent).
    Returns accepted rows typed (index reset) and quarantined rows as read plus rule and detail.
    """
    frame = raw.frame
    n = len(frame)
    marker = _Marker(n)
    typed: dict[str, pd.Series] = {}
    columns = table_columns(table, frame.columns)
    texts: dict[str, pd.Series] = {}
    for col in columns:
        if col.name not in frame.columns:  # an optional column the file does not have
            source = pd.Series(np.nan, index=frame.index, dtype=coerce.STR_DTYPE)
        else:
            source = frame[col.name]
        texts[col.name] = coerce.blank_to_null(source)
        values, bad = coerce.parse_text(texts[col.name], col.type, col.values)
        typed[col.name] = values
        marker.mark(bad, "invalid_type", col.name, source.to_numpy())
    for col in columns:
        if not col.nullable:
            marker.mark(
                typed[col.name].isna().to_numpy(),
                "null_in_required",
                col.name,
                f"{col.name} is null",
            )
    for col in columns:
        if col.values:
            values = typed[col.name]
            unknown = values.notna().to_numpy() & ~values.isin(col.values).to_numpy(dtype=bool)
            marker.mark(unknown, "unknown_enum", col.name, frame[col.name].to_numpy())
    for rule in table.order_rules:
        later, earlier = typed[rule.later], typed[rule.earlier]
        broken = (later < earlier).fillna(False).to_numpy(dtype=bool)
        if broken.any():  # details only for the broken rows: formatting dates is slow
            details = np.full(n, None, dtype=object)
            details[broken] = [
                f"{rule.later}={lt} < {rule.earlier}={et}"
                for lt, et in zip(later[broken], earlier[broken], strict=True)
            ]
            marker.mark(broken, rule.name, rule.later, details, values=False)
    for a, b in table.distinct:
        same = (typed[a] == typed[b]).fillna(False).to_numpy(dtype=bool)
        marker.mark(same, "same_person", b, f"{a} == {b}")
    if table.key:
        key = texts[table.key]
        # duplicates are judged among rows still valid, so a broken row cannot claim a key
        valid_keys = key.where(marker.free)
        dup = valid_keys.duplicated(keep="first").to_numpy() & valid_keys.notna().to_numpy()
        marker.mark(dup, "duplicate_key", table.key, key.to_numpy())
    for col in columns:
        if not col.references:
            continue
        target = refs.get(col.references.split(".")[0])
        if target is None:
            continue
        values = texts[col.name]
        present = values.notna().to_numpy()
        ok = isin_keys(values, target.accepted)
        seen = isin_keys(values, target.seen)
        marker.mark(present & ~ok & ~seen, "missing_reference", col.name, values.to_numpy())
        marker.mark(present & ~ok & seen, "dangling_reference", col.name, values.to_numpy())
    return _result(raw, table, typed, texts, marker)


def _result(raw, table, typed, texts, marker: _Marker) -> TableResult:
    frame = raw.frame
    free = marker.free
    out = pd.DataFrame(typed, index=frame.index)
    extras = [c for c in frame.columns if c not in out.columns]
    for name in extras:
        out[name] = frame[name]
    out = out[[*typed, *extras]]
    accepted = out.loc[free].reset_index(drop=True)
    bad = ~free
    quarantine = frame.loc[bad].copy()
    for name in quarantine.columns:
        if quarantine[name].dtype == object:
            quarantine[name] = quarantine[name].map(lambda v: None if v is None else str(v))
    meta = {m: (m if m not in quarantine.columns else f"_quarantine_{m}") for m in META_COLUMNS}
    quarantine[meta["rule"]] = pd.Series(marker.rule[bad], index=quarantine.index, dtype="str")
    quarantine[meta["detail"]] = pd.Series(marker.detail[bad], index=quarantine.index, dtype="str")
    quarantine[meta["source_row"]] = np.flatnonzero(bad) + 1
    quarantine = quarantine.reset_index(drop=True)
    rules = pd.Series(marker.rule[bad], dtype=object)
    counts = {r: int(c) for r, c in rules.value_counts().items()}
    examples: dict[str, list[str]] = {}
    columns: dict[str, str] = {}
    for r in counts:
        hit = marker.rule == r
        examples[r] = list(dict.fromkeys(str(d) for d in marker.detail[hit][:1000]))[:5]
        columns[r] = str(pd.Series(marker.column[hit]).mode().iloc[0])
    keys = None
    if table.key:
        key = texts[table.key]
        keys = KeySets(accepted=unique_keys(key[free]), seen=unique_keys(key))
    return TableResult(
        name=table.name,
        path=raw.path,
        n_read=len(frame),
        accepted=accepted,
        quarantine=quarantine,
        counts=dict(sorted(counts.items(), key=lambda kv: RULE_ORDER.index(kv[0]))),
        keys=keys,
        examples=examples,
        columns=columns,
    )


def dominant(result: TableResult) -> tuple[str, int] | None:
    """The rule that quarantined most rows of a table (None if none was quarantined)."""
    if not result.counts:
        return None
    rule = max(result.counts, key=result.counts.get)
    return rule, result.counts[rule]
