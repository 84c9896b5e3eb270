"""Turn raw string columns into the typed representation every stage relies on.

Every input file is first read as strings (see :mod:`riskcohort.contract.reader`), whatever its
format, so one vectorised parser per contract type decides what is valid and the quarantine files
can show exactly what was read. Each parser returns the typed column and a boolean mask of values
that were present but could not be parsed (the ``invalid_type`` rule); nulls are left to the
null rule. Typed representation (architecture.md): ids and strings are pandas ``str`` (missing is
NaN), dates and timestamps naive ``datetime64[ns]``, bools nullable ``boolean``, enums lower-case
``str``, floats ``float64``.

>>> import pandas as pd
>>> typed, bad = parse(pd.Series(["Yes", "0", "maybe", None], dtype="str"), "bool")
>>> typed.tolist(), bad.tolist()
([True, False, <NA>, <NA>], [False, False, True, False])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskcohort.contract.schema import BOOL, DATE, ENUM, FLOAT, ID, STRING, TIMESTAMP

STR_DTYPE = pd.StringDtype(na_value=np.nan)  # pandas' default ``str`` dtype
DATETIME_DTYPE = "datetime64[ns]"

# Accepted timestamp spellings: a date, or a date and time separated by "T" or a space, with
# optional fractional seconds (Parquet timestamps cast to text carry them). No time zone.
_TIMESTAMP_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
# datetime64[ns] can only hold about 1677-09-21 .. 2262-04-11: anything outside is invalid.
_MIN_TS = pd.Timestamp("1678-01-01")
_MAX_TS = pd.Timestamp("2262-01-01")

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def blank_to_null(raw: pd.Series) -> pd.Series:
    """Strip surrounding whitespace and make empty strings null (the contract's 'empty = null')."""
    text = raw.astype(STR_DTYPE).str.strip()
    return text.mask(text == "")


def parse_id(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Ids stay text exactly as written (leading zeros kept); any non-empty text is valid."""
    return text, np.zeros(len(text), dtype=bool)


def parse_enum(text: pd.Series, values: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """Lower-case the value; membership is checked by the ``unknown_enum`` rule, not here."""
    return text.str.lower(), np.zeros(len(text), dtype=bool)


def parse_bool(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """true/false/1/0/yes/no in any case -> nullable boolean; anything else is invalid."""
    low = text.str.lower()
    is_true = low.isin(TRUE_WORDS).to_numpy(dtype=bool)
    is_false = low.isin(FALSE_WORDS).to_numpy(dtype=bool)
    present = text.notna().to_numpy()
    values = pd.array(np.where(is_true, True, False), dtype="boolean")
    values[~(is_true | is_false)] = pd.NA
    bad = present & ~(is_true | is_false)
    return pd.Series(values, index=text.index, name=text.name), bad


def parse_timestamp(text: pd.Series, *, date_only: bool = False) -> tuple[pd.Series, np.ndarray]:
    """ISO date or date-time (``T`` or space, no zone) -> naive ``datetime64[ns]``.

    A ``date`` column also accepts a date-time (Parquet writers often store dates as timestamps)
    and keeps only the day, so a date is always midnight.
    """
    present = text.notna().to_numpy()
    shaped = text.str.fullmatch(_TIMESTAMP_RE).fillna(False).to_numpy(dtype=bool)
    candidate = text.where(shaped)
    parsed = pd.to_datetime(candidate, errors="coerce", format="ISO8601")
    if getattr(parsed.dt, "tz", None) is not None:  # defensive: the pattern excludes zones
        parsed = parsed.dt.tz_localize(None)
    in_range = (parsed >= _MIN_TS) & (parsed < _MAX_TS)
    parsed = parsed.where(in_range)
    bad = present & parsed.isna().to_numpy()
    out = parsed.astype(DATETIME_DTYPE)
    if date_only:
        out = out.dt.normalize()
    return out.rename(text.name), bad


def parse_float(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Decimal numbers -> ``float64``; text that is not a number is invalid."""
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = text.notna().to_numpy() & values.isna().to_numpy()
    return values, bad


def parse(raw: pd.Series, type_: str, values: tuple[str, ...] = ()) -> tuple[pd.Series, np.ndarray]:
    """Parse one raw column by its contract type; return (typed column, invalid-value mask)."""
    return parse_text(blank_to_null(raw), type_, values)


def parse_native(array: pa.ChunkedArray, type_: str) -> tuple[pd.Series, np.ndarray] | None:
    """Parse a Parquet column stored with a native type, without going through its text.

    Only where the result is provably what :func:`parse` gives on Arrow's text of the column:
    ``bool`` columns of a ``bool`` type (text ``true``/``false``: never invalid), ``date`` and
    ``timestamp`` columns of a ``timestamp`` (zone-aware ones as local wall-clock time, like the
    text cast) or ``date32`` type (the text always has the accepted ISO shape, so only the
    datetime64[ns] range decides validity). None for any other type (the caller parses text).
    Why: casting a national table's timestamps and flags to text, then parsing the text back,
    took most of the loading time and several GB.
    """
    kind = array.type
    if type_ == BOOL and pa.types.is_boolean(kind):
        values = np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), bool)
        missing = np.asarray(array.is_null().to_numpy(zero_copy_only=False), bool)
        return pd.Series(pd.arrays.BooleanArray(values, missing)), np.zeros(len(array), bool)
    if type_ not in (DATE, TIMESTAMP):
        return None
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            array = pc.local_timestamp(array)
        lo, hi = (pa.scalar(t.to_pydatetime(), array.type) for t in (_MIN_TS, _MAX_TS))
    elif pa.types.is_date32(kind):
        lo, hi = (pa.scalar(t.date(), kind) for t in (_MIN_TS, _MAX_TS))
    else:
        return None
    in_range = pc.and_(pc.greater_equal(array, lo), pc.less(array, hi))  # null stays null
    kept = pc.if_else(in_range, array, pa.scalar(None, array.type))
    out = pd.Series(pc.cast(kept, pa.timestamp("ns")).to_numpy(zero_copy_only=False))
    bad = np.asarray(pc.invert(pc.fill_null(in_range, True)).to_numpy(zero_copy_only=False), bool)
    out = out.astype(DATETIME_DTYPE)
    return (out.dt.normalize() if type_ == DATE else out), bad


def parse_text(text: pd.Series, type_: str, values: tuple[str, ...] = ()):
    """Like :func:`parse` for text already passed through :func:`blank_to_null`."""
    if type_ in (ID, STRING):
        return parse_id(text)
    if type_ == ENUM:
        return parse_enum(text, values)
    if type_ == BOOL:
        return parse_bool(text)
    if type_ in (DATE, TIMESTAMP):
        return _chunked(parse_timestamp, text, date_only=type_ == DATE)
    if type_ == FLOAT:
        return _chunked(parse_float, text)
    raise ValueError(f"unknown contract type {type_!r}")


CHUNK_ROWS = 1 << 20


def _chunked(parser, text: pd.Series, **kw) -> tuple[pd.Series, np.ndarray]:
    """``parser`` over slices of ``CHUNK_ROWS`` rows, joined (each value is parsed on its own).

    Why: pandas' date and number parsers make one Python object per value of Arrow text; on the
    12M rows of a national baseline file that was ~1 GB at once, and left the heap fragmented.
    """
    if len(text) <= CHUNK_ROWS:
        return parser(text, **kw)
    parts = [parser(text.iloc[i : i + CHUNK_ROWS], **kw) for i in range(0, len(text), CHUNK_ROWS)]
    return pd.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
