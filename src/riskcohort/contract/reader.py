"""Find and read the input files, and stop on structural problems.

Every column is judged by its text, whatever the file format: CSV columns stay as written
(leading zeros kept, empty = null) and Parquet columns are cast to text by Arrow. One text form
means one set of parsers decides validity, and quarantine files show the values as read. The
file is kept as the Arrow table read (native Parquet types are several times smaller than their
text) and a column is turned into text only when needed (:meth:`RawTable.text`), one column or a
few rows at a time: holding a whole national table as text, next to its typed copy, is what made
loading peak at ~10 GB. Structural problems (unreadable, empty without header, duplicate or
missing columns, the same table in two formats) raise :class:`~riskcohort.errors.UserError`
naming the file.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskcohort.contract.coerce import STR_DTYPE
from riskcohort.contract.schema import Table
from riskcohort.errors import UserError, examples

FORMATS = (".csv", ".parquet")


@dataclass
class RawTable:
    """One input file as read: an Arrow table with one column per file column (names checked)."""

    name: str
    path: Path
    table: pa.Table

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def __len__(self) -> int:
        return self.table.num_rows

    def text(self, column: str, rows: np.ndarray | None = None) -> pd.Series:
        """One column as text (pandas ``str``), all rows or only the positions ``rows``.

        A column with no text form (e.g. a list) is returned as pandas converts it."""
        array = self.table[column]
        if rows is not None:
            array = array.take(pa.array(rows, type=pa.int64()))
        return _pandas_text(array)


def find_file(data_dir: Path, name: str) -> Path | None:
    """The file holding table ``name`` (``<name>.csv`` or ``<name>.parquet``), if any."""
    found = [data_dir / f"{name}{ext}" for ext in FORMATS if (data_dir / f"{name}{ext}").is_file()]
    if len(found) > 1:
        raise UserError(
            f"file {found[0].name} and {found[1].name}: rule one_file_per_table: table {name!r} "
            "is given twice; keep one of them"
        )
    return found[0] if found else None


def _check_columns(path: Path, columns: list[str]) -> list[str]:
    names = [str(c).strip().lstrip("\ufeff") for c in columns]
    if not names or all(n == "" for n in names):
        raise UserError(f"file {path.name}: rule header_required: the file has no header row")
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise UserError(
            f"file {path.name}, column {dups[0]!r}: rule duplicate_column: column names appear "
            f"more than once; examples {examples(dups)}"
        )
    return names


def _decoded_lines(path: Path):
    """Lines decoded one at a time, so a bad byte further down is not blamed on the header."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh):
            try:
                yield raw.decode("utf-8-sig" if number == 0 else "utf-8")
            except UnicodeDecodeError as exc:
                where = "the header" if number == 0 else f"line {number + 1}"
                raise UserError(
                    f"file {path.name}: rule utf8_required: {where} is not UTF-8 text "
                    f"(byte {exc.start}: {exc.reason})"
                ) from None


def _csv_header(path: Path) -> list[str]:
    """The header record, read with the csv module (quoted names may hold commas, newlines)."""
    try:
        header = next(csv.reader(_decoded_lines(path)), None)
    except csv.Error as exc:
        raise UserError(f"file {path.name}: rule readable_csv: bad header ({exc})") from None
    except OSError as exc:
        raise UserError(f"file {path.name}: rule readable_csv: {exc.strerror}") from None
    if header is None or not any(h.strip() for h in header):
        raise UserError(f"file {path.name}: rule header_required: the file is empty (no header)")
    return header


def _read_csv(path: Path) -> pa.Table:
    import pyarrow.csv as pacsv

    names = _check_columns(path, _csv_header(path))
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows_after_names=1, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0]
        if "UTF8" in reason:
            raise _not_utf8(path, names, reason) from None
        raise UserError(f"file {path.name}: rule readable_csv: cannot read it ({reason})") from None
    return table


def _not_utf8(path: Path, names: list[str], reason: str) -> UserError:
    """The column name and line of the first byte that is not UTF-8 (Arrow only gives a column
    number); a latin-1 / Windows-1252 export is the usual cause."""
    import re

    found = re.search(r"CSV column #(\d+)", reason)
    index = int(found.group(1)) if found else -1
    where = f", column {names[index]!r}" if 0 <= index < len(names) else ""
    detail = reason
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                where += f", line {number + 1}"
                detail = f"byte {exc.start + 1} of the line, {raw[exc.start:exc.start + 1]!r}"
                break
    return UserError(f"file {path.name}{where}: rule utf8_required: not UTF-8 text ({detail}); "
                     "save the file as UTF-8 (it may be latin-1 / Windows-1252)")


def _as_text(array: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Arrow column -> text, or None when the type has no text form (nested types)."""
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        array = pc.local_timestamp(array)  # the contract's timestamps are local wall-clock time
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return None


def _pandas_text(array: pa.ChunkedArray) -> pd.Series:
    text = _as_text(array)
    if text is None:  # e.g. a list column: kept as read, it cannot be a contract column
        return array.to_pandas()
    return text.to_pandas(types_mapper={pa.string(): STR_DTYPE}.get)


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        names = _check_columns(path, pq.read_schema(path).names)
        table = pq.read_table(path)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - any Arrow failure here means a corrupt file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"file {path.name}: rule readable_parquet: cannot read it ({reason})"
        ) from None
    return table.rename_columns(names)


def read_arrow(path: Path) -> pa.Table:
    """Read a CSV (all columns text) or Parquet file (native types), column names checked."""
    return _read_csv(path) if path.suffix == ".csv" else _read_parquet(path)


def read_table(data_dir: Path, table: Table, path: Path | None = None) -> RawTable | None:
    """Read one contract table (from ``path`` if given); None when its file is absent.

    Checks that the required columns are there.
    """
    if path is None:
        path = find_file(data_dir, table.name)
    elif not Path(path).is_file() or Path(path).suffix not in FORMATS:
        raise UserError(f"file {path}: rule readable_file: not a .csv or .parquet file")
    if path is None:
        return None
    path = Path(path)
    raw = RawTable(table.name, path, read_arrow(path))
    columns = raw.columns
    missing = [c for c in table.required_columns if c not in columns]
    if missing:
        near = [c for c in columns if c.lower() in {m.lower() for m in missing}]
        hint = f"; found similar {examples(near)} (names are case-sensitive)" if near else ""
        if len(columns) == 1 and any(sep in columns[0] for sep in ";\t|"):
            hint += "; the file does not look comma-separated (the contract requires commas)"
        raise UserError(
            f"file {path.name}, column {missing[0]!r}: rule required_column: missing required "
            f"column(s) {examples(missing)}; the file has {examples(list(columns))}{hint}"
        )
    return raw


def fingerprint(paths: list[Path]) -> str:
    """sha256 over the files read (sorted by name): name, then bytes, for each.

    Only files that were read count, so an unrelated file in the folder (or ``_truth/``) does not
    change the fingerprint.
    """
    from riskcohort.io import sha256_file

    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + bytes.fromhex(sha256_file(path)))
    return digest.hexdigest()
