"""Input handling: accept a ``contract.Dataset`` or a plain ``dict[str, DataFrame]``.

Why: tests and notebooks pass dicts in the typed representation (architecture section 1); the
pipeline passes the validated ``Dataset``. Only the contract's columns of each table are kept
(plus ``q_*`` assessment items), so unknown extra columns (kept by the reader) never reach an
indicator and protected columns are dropped here except ``persons`` (which needs none of them
either: only ``birth_date`` and ``death_date`` are read).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskcohort.contract.schema import PROTECTED_COLUMNS, TABLES
from riskcohort.errors import UserError


def tables_of(data) -> dict[str, pd.DataFrame]:
    """The tables of a Dataset or a dict, restricted to contract columns (protected dropped)."""
    raw = data.tables if hasattr(data, "tables") else data
    if not isinstance(raw, Mapping):
        raise UserError(
            f"features: expected a contract Dataset or a dict of DataFrames, got {type(raw)!r}"
        )
    for name in ("persons", "incidents"):
        if name not in raw or raw[name] is None:
            raise UserError(f"features: required table {name!r} is missing (rule: required table)")
    out: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        frame = raw.get(name)
        if frame is None:
            continue
        keep = [
            c for c in frame.columns
            if (c in table.names or (table.extra_prefix and str(c).startswith(table.extra_prefix)))
            and c not in PROTECTED_COLUMNS
        ]
        missing = [c for c in table.names if c not in frame.columns and table.column(c).required]
        if missing:
            raise UserError(
                f"features: table {name!r} lacks column(s) {missing} (rule: contract columns)"
            )
        out[name] = frame[keep]
    return out


def _ibis_type(col) -> str:
    return {"date": "timestamp", "timestamp": "timestamp", "bool": "boolean",
            "float": "float64"}.get(col.type, "string")


def schemas() -> dict[str, dict[str, str]]:
    """Fixed Ibis schema per contract table (protected columns dropped, all q_* items kept).

    Why fixed: the SQL is compiled once per set of present tables and reused (``plan.py``), so
    every input must arrive with exactly these columns and types (see :func:`normalise`).
    """
    return {
        name: {c.name: _ibis_type(c) for c in table.columns if c.name not in PROTECTED_COLUMNS}
        for name, table in TABLES.items()
    }


_READY = {"timestamp": "datetime64[ns]", "boolean": "boolean", "float64": "float64",
          "string": "str"}


def normalise(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Frames with exactly the :func:`schemas` columns and dtypes (absent optional columns null).

    Ids and enums become plain strings (so "007" stays "007"), dates/timestamps naive
    ``datetime64[ns]``, booleans nullable ``boolean``. Extra ``q_*`` items beyond the contract's
    list are not used by any indicator and are dropped here.
    """
    out = {}
    for name, frame in tables.items():
        cols = {}
        for col, typ in schemas()[name].items():
            s = frame[col] if col in frame.columns else pd.Series(None, index=frame.index)
            if str(s.dtype) == _READY.get(typ):
                pass  # already typed (the loader's output): no copy, no conversion
            elif typ == "timestamp":
                s = pd.to_datetime(s)
                if getattr(s.dt, "tz", None) is not None:
                    s = s.dt.tz_localize(None)
                s = s.astype("datetime64[ns]")
            elif typ == "boolean":
                s = s.astype("boolean")
            elif typ == "float64":
                s = s.astype("float64")
            elif not pd.api.types.is_string_dtype(s) or s.dtype == object:
                s = s.astype("str")  # pandas >= 3 keeps missing values missing
            cols[col] = s.reset_index(drop=True)
        out[name] = pd.DataFrame(cols, copy=False)
    return out


def absent_sources(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Optional contract tables not provided (their indicators are NaN)."""
    return sorted(n for n in TABLES if n not in tables)


def as_of_index(as_of) -> pd.DatetimeIndex:
    """Snapshot dates as a sorted, unique, naive DatetimeIndex."""
    if isinstance(as_of, (str, pd.Timestamp)) or not hasattr(as_of, "__iter__"):
        as_of = [as_of]
    idx = pd.DatetimeIndex(pd.to_datetime(list(as_of)))
    if len(idx) == 0:
        raise UserError("features: give at least one as-of date")
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.unique().sort_values().astype("datetime64[ns]")
