"""Write contract tables block by block (appended Parquet row groups or CSV chunks), atomically.

Why streaming: the national preset has tens of millions of rows; each block is converted and
appended as it is made, so memory stays bounded by one block. Files are written under temporary
names and moved into place only when every block is done (``os.replace``), so a reader never
sees a half-written dataset. Types follow the contract: ids and enums as strings, ``date`` as
Arrow date32 (CSV ``YYYY-MM-DD``), ``timestamp`` as naive seconds (CSV ``YYYY-MM-DD HH:MM:SS``),
``bool`` as nullable booleans (CSV ``true``/``false``, empty = null).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskcohort.contract.schema import BOOL, DATE, FLOAT, TIMESTAMP, Table

ARROW = {DATE: pa.date32(), TIMESTAMP: pa.timestamp("s"), BOOL: pa.bool_(), FLOAT: pa.float64()}


def arrow_schema(table: Table, columns) -> pa.Schema:
    """Arrow schema of a contract table, for the given column order (extra columns: string)."""
    types = {c.name: ARROW.get(c.type, pa.string()) for c in table.columns}
    if table.extra_prefix:
        types.update({c: pa.bool_() for c in columns if c.startswith(table.extra_prefix)})
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Convert a typed frame (datetime64 for date/timestamp, boolean, str) to Arrow."""
    arrays = []
    for f in schema:
        s = frame[f.name]
        if pa.types.is_date32(f.type):
            v = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            arrays.append(pa.array(v, mask=s.isna().to_numpy(), type=f.type))
        elif pa.types.is_timestamp(f.type):
            v = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[s]")
            arrays.append(pa.array(v, mask=s.isna().to_numpy(), type=f.type))
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array(s.astype("boolean"), type=f.type))
        elif pa.types.is_floating(f.type):
            arrays.append(pa.array(s.astype("float64"), type=f.type))
        else:
            obj = s.astype(object).where(s.notna(), None)
            arrays.append(pa.array(obj.to_numpy(), type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema)


def to_csv_frame(frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """Text form of a typed frame for CSV (contract formats; empty field = null)."""
    out = {}
    for f in schema:
        s = frame[f.name]
        if pa.types.is_date32(f.type):
            out[f.name] = s.dt.strftime("%Y-%m-%d")
        elif pa.types.is_timestamp(f.type):
            out[f.name] = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pa.types.is_boolean(f.type):
            b = s.astype("boolean")
            out[f.name] = pd.Series(np.where(b.fillna(False), "true", "false"),
                                    index=s.index).where(b.notna(), None)
        else:
            out[f.name] = s
    return pd.DataFrame(out)


class Sink:
    """One output file, appended to block by block; ``close`` moves it into place."""

    def __init__(self, path: Path, table: Table | None, fmt: str):
        self.path, self.table, self.fmt = Path(path), table, fmt
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.rows = 0

    def append(self, frame: pd.DataFrame, schema: pa.Schema | None = None) -> None:
        if self.schema is None:
            self.schema = schema or arrow_schema(self._table(), list(frame.columns))
        if self.fmt == "parquet":
            data = to_arrow(frame, self.schema)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
            self.writer.write_table(data)
        else:
            text = to_csv_frame(frame, self.schema)
            text.to_csv(self.tmp, mode="a" if self.rows else "w", header=not self.rows,
                        index=False)
        self.rows += len(frame)

    def _table(self) -> Table:
        """The contract table whose schema the file takes (a sink without one - truth files -
        is always given its schema explicitly)."""
        if self.table is None:
            raise ValueError(f"{self.path.name}: a sink without a contract table needs a schema")
        return self.table

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.tmp.exists():
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.tmp.unlink(missing_ok=True)
