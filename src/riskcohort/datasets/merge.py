"""Merge one table of a new extract into its base table, at the Arrow level.

Why Arrow and not the validated frames: the new dataset version must be the base *as exported*
plus the extract's rows, so a later ``load_dataset`` judges every row (quarantined ones included)
exactly as it would have judged the inputs. Rules (docs/tracking.md, "Dataset versions"):

- a row whose primary key is in the base replaces every base row with that key;
- a row with a new key is added;
- a base row is removed only when ``_deletions.csv`` lists ``table,id``;
- the extract's values must be readable as the base column's type ("column type change"
  otherwise), and a key may appear only once in the extract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskcohort.contract import coerce
from riskcohort.contract.reader import RawTable
from riskcohort.contract.schema import BASELINE_SCORES, TABLES, Table
from riskcohort.errors import UserError, examples

#: The baseline file has no primary key: one score per person, date and system.
BASELINE_KEY = ("person_id", "as_of", "system")
KEY_SEP = "\x1f"


def key_columns(name: str) -> tuple[str, ...]:
    """Primary key column(s) of a contract table (the baseline file: person, date, system)."""
    return BASELINE_KEY if name == BASELINE_SCORES.name else (TABLES[name].key,)


def table_def(name: str) -> Table:
    return BASELINE_SCORES if name == BASELINE_SCORES.name else TABLES[name]


@dataclass
class Merged:
    """The merged Arrow table and which keys were added, replaced or removed."""

    table: pa.Table
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def keys_of(raw: RawTable) -> pd.Series:
    """Primary key of every row as text (composite keys joined); blank -> NaN."""
    cols = key_columns(raw.name)
    parts = [coerce.blank_to_null(raw.text(c)) for c in cols]
    key = parts[0]
    for part in parts[1:]:
        key = key + KEY_SEP + part
    return key


def check_extract_keys(raw: RawTable) -> pd.Series:
    """Extract keys, refusing an empty key or a key given twice (which row would win?)."""
    key = keys_of(raw)
    col = "+".join(key_columns(raw.name))
    if key.isna().any():
        rows = np.flatnonzero(key.isna().to_numpy())[:5] + 2
        raise UserError(f"file {raw.path}, column {col!r}: rule key_required: "
                        f"{int(key.isna().sum())} extract rows have no primary key; example "
                        f"lines {examples(rows.tolist())}")
    dup = key[key.duplicated(keep=False)]
    if len(dup):
        raise UserError(
            f"file {raw.path}, column {col!r}: rule unique_key_in_extract: {dup.nunique()} "
            f"primary keys appear more than once in the extract (which row should win?); examples "
            f"{examples([k.replace(KEY_SEP, '|') for k in dup])}")
    return key


def _family(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_null(kind):
        return "null"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "time"
    return str(kind)


def _contract_type(table: Table, column: str) -> str | None:
    if column in table.names:
        return table.column(column).type
    if table.extra_prefix and column.startswith(table.extra_prefix):
        return coerce.BOOL
    return None


def _type_change(raw: RawTable, column: str, target: pa.DataType, detail: str, bad) -> UserError:
    return UserError(
        f"file {raw.path}, column {column!r}: rule column_type_change: the extract's values "
        f"cannot be read as the base column's type {target} ({detail}); examples "
        f"{examples([str(v) for v in bad])}")


def convert(raw: RawTable, column: str, target: pa.DataType,
            any_source: bool = False) -> pa.ChunkedArray:
    """One extract column as the base column's Arrow type, or a ``column_type_change`` error.

    Text (CSV, or Parquet strings) is parsed with the contract's parser of the column type, so
    ``yes`` is a bool and ``2024-01-01T10:00`` a timestamp; a native Parquet column must be of
    the same kind (an id written as a number has lost its leading zeros: refused), unless
    ``any_source`` (a CSV base: everything is text there, Parquet extract values included).
    """
    array = raw.table[column]
    source = _family(array.type)
    wanted = _family(target)
    ctype = _contract_type(table_def(raw.name), column)
    if source == "null" or array.null_count == len(array):  # pandas writes all-null as double
        return pa.chunked_array([pa.nulls(len(array), type=target)])
    if wanted == "text":
        if source != "text" and ctype is not None and not any_source:
            raise _type_change(raw, column, target, f"stored as {array.type}",
                               array.drop_null().to_pylist()[:5])
        text = raw.text(column)
        if ctype is not None:
            _, bad = coerce.parse(text, ctype)
            if bad.any():
                raise _type_change(raw, column, target, f"not a valid {ctype}", text[bad][:5])
        return pa.chunked_array([pa.array(text.astype(object).where(text.notna(), None),
                                          type=pa.string())]).cast(target)
    if source == "text":
        text = raw.text(column)
        if ctype is not None:
            typed, bad = coerce.parse(text, ctype)
            if bad.any():
                raise _type_change(raw, column, target, f"not a valid {ctype}", text[bad][:5])
            values = pa.Array.from_pandas(typed)
            try:
                return pa.chunked_array([values.cast(target, safe=False)])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise _type_change(raw, column, target, str(exc).splitlines()[0],
                                   text.dropna()[:5]) from None
        try:
            return pc.cast(array, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _type_change(raw, column, target, "cast failed", text.dropna()[:5]) from None
    compatible = source == wanted or (source, wanted) in {("int", "float")}
    if not compatible:
        raise _type_change(raw, column, target, f"stored as {array.type}",
                           array.drop_null().to_pylist()[:5])
    try:
        return array.cast(target, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _type_change(raw, column, target, str(exc).splitlines()[0],
                           array.drop_null().to_pylist()[:5]) from None


def as_text_table(raw: RawTable) -> pa.Table:
    """Every column as text (what a CSV base holds)."""
    cols = {c: pa.array(raw.text(c).astype(object).where(raw.text(c).notna(), None),
                        type=pa.string()) for c in raw.columns}
    return pa.table(cols) if cols else raw.table


def merge(base: RawTable | None, extract: RawTable, deletions: set[str],
          text_output: bool) -> Merged:
    """Base rows not replaced or deleted, then every extract row (as the base's types)."""
    ext_keys = check_extract_keys(extract)
    clash = sorted(set(ext_keys) & deletions)
    if clash:
        raise UserError(f"file _deletions.csv and {extract.path}: rule delete_or_update: rows both "
                        f"updated and deleted; examples {examples(clash)}")
    if base is None:
        missing = sorted(deletions)
        if missing:
            raise UserError(f"file _deletions.csv, column 'id': rule delete_existing_row: table "
                            f"{extract.name!r} is not in the base; examples {examples(missing)}")
        table = as_text_table(extract) if text_output else extract.table
        return Merged(table, added=ext_keys.tolist())
    base_table = as_text_table(base) if text_output else base.table
    base_keys = keys_of(base)
    present = set(base_keys.dropna())
    unknown = sorted(deletions - present)
    if unknown:
        raise UserError(f"file _deletions.csv, column 'id': rule delete_existing_row: no row of "
                        f"table {base.name!r} has these keys in the base; examples "
                        f"{examples(unknown)}")
    in_base = ext_keys.isin(present).to_numpy()
    drop = base_keys.isin(set(ext_keys) | deletions).to_numpy()
    kept = base_table.filter(pa.array(~drop))
    columns = {}
    for name in kept.column_names:
        target = kept.schema.field(name).type
        if name in extract.columns:
            columns[name] = convert(extract, name, target, any_source=text_output)
        else:
            columns[name] = pa.chunked_array([pa.nulls(len(extract), type=target)])
    new_cols = [c for c in extract.columns if c not in kept.column_names]
    ext_text = as_text_table(extract) if text_output else extract.table
    for name in new_cols:  # an extra column first seen in the extract: base rows get nulls
        kept = kept.append_column(name, pa.nulls(len(kept), type=ext_text[name].type))
        columns[name] = ext_text[name]
    rows = pa.table({n: columns[n] for n in kept.column_names})
    merged = pa.concat_tables([kept, rows.cast(kept.schema)])
    return Merged(merged, added=ext_keys[~in_base].tolist(), replaced=ext_keys[in_base].tolist(),
                  removed=sorted(deletions & present))


def remove_only(base: RawTable, deletions: set[str], text_output: bool) -> Merged:
    """A base table the extract does not carry, with the listed rows deleted."""
    keys = keys_of(base)
    unknown = sorted(deletions - set(keys.dropna()))
    if unknown:
        raise UserError(f"file _deletions.csv, column 'id': rule delete_existing_row: no row of "
                        f"table {base.name!r} has these keys in the base; examples "
                        f"{examples(unknown)}")
    table = as_text_table(base) if text_output else base.table
    return Merged(table.filter(pa.array(~keys.isin(deletions).to_numpy())),
                  removed=sorted(deletions))
