"""Write and read feature files: Parquet with provenance in the schema metadata.

Why in the file itself (not a sidecar): one atomic ``os.replace`` publishes data and metadata
together, so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskcohort.features.catalogue import catalogue_version
from riskcohort.io import atomic_path

META_KEY = b"riskcohort"


def write_features(path, frame: pd.DataFrame, *, dataset=None, labels=False,
                   horizon_days=None) -> Path:
    """Atomically write ``frame`` to Parquet with metadata under the ``riskcohort`` key."""
    meta = {
        "catalogue_version": catalogue_version(),
        "notes": list(frame.attrs.get("notes", [])),
        "as_of": sorted({str(d.date()) for d in frame["as_of"]}),
        "labels": bool(labels),
        "horizon_days": horizon_days,
        "data_dir": str(getattr(dataset, "root", "")) or None,
        "fingerprint": getattr(dataset, "fingerprint", None),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    plain = pd.DataFrame(frame)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()}
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def read_metadata(path) -> dict:
    """The ``riskcohort`` metadata of a feature file (empty dict if none)."""
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}
