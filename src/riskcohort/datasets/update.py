"""``update_dataset``: a new dataset version from a base version and a new extract.

Why: the data scientist's job is retraining on new near-miss data, and a force's data team sends
*changes* (new incidents, re-graded ones, late-recorded ones), not always a whole export. The new
version is written in the contract format, so every stage reads it unchanged, and says what
changed (``changes.json``/``changes.md``) and where it came from (``dataset.json``: its
fingerprint and its base's, so MLflow shows the lineage).

Guarantees: neither input is modified; nothing is written when an input is bad (the version is
built in a temporary sibling folder, validated with ``contract.load_dataset`` and renamed into
place); the new version's fingerprint is the one ``load_dataset`` (hence ``run.json``) reports.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskcohort.contract import reader
from riskcohort.contract.schema import BASELINE_SCORES, TABLES
from riskcohort.datasets import merge
from riskcohort.errors import UserError, examples
from riskcohort.io import read_json, write_json, write_text

logger = logging.getLogger(__name__)

#: The contract version this engine writes and reads (shared/data-contract.md).
CONTRACT_VERSION = "1.1"
SUPPORTED_CONTRACT_VERSIONS = ("1.0", "1.1")
MANIFEST = "dataset.json"
DELETIONS = "_deletions.csv"


@dataclass
class UpdateResult:
    """What ``update_dataset`` published."""

    out_dir: Path
    fingerprint: str
    base_fingerprint: str
    changes: dict


def contract_version(folder: Path, default: str | None) -> str | None:
    """``contract_version`` from ``<folder>/dataset.json`` (``default`` when absent)."""
    path = folder / MANIFEST
    if not path.is_file():
        return default
    try:
        data = read_json(path)
    except Exception as exc:  # noqa: BLE001 - unreadable manifest is the user's to fix
        raise UserError(f"file {path}: rule readable_json: {exc}") from None
    value = data.get("contract_version", default) if isinstance(data, dict) else default
    return None if value is None else str(value)


def check_versions(base_dir: Path, extract_dir: Path) -> str:
    """The shared contract version of base and extract, or a ``contract_version`` error."""
    base_v = contract_version(base_dir, CONTRACT_VERSION)
    ext_v = contract_version(extract_dir, base_v)
    for where, v in ((base_dir, base_v), (extract_dir, ext_v)):
        if v not in SUPPORTED_CONTRACT_VERSIONS:
            raise UserError(f"file {where / MANIFEST}, key 'contract_version': rule "
                            f"supported_contract_version: got {v!r}, this engine reads "
                            f"{examples(SUPPORTED_CONTRACT_VERSIONS)}")
    if ext_v != base_v:
        raise UserError(f"file {extract_dir / MANIFEST}, key 'contract_version': rule "
                        f"same_contract_version: the extract is contract {ext_v!r} but the base "
                        f"{base_dir} is {base_v!r}; convert one of them first")
    assert base_v is not None  # None is never a supported version (refused above)
    return base_v


def read_deletions(extract_dir: Path) -> dict[str, set[str]]:
    """``_deletions.csv`` (columns ``table,id``): the only way a row is removed."""
    path = extract_dir / DELETIONS
    if not path.is_file():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("table", "id") if c not in frame.columns]
    if missing:
        raise UserError(f"file {path}, column {missing[0]!r}: rule required_column: deletions "
                        f"need columns 'table,id'; the file has {examples(list(frame.columns))}")
    frame = frame.assign(table=frame["table"].str.strip(), id=frame["id"].str.strip())
    unknown = sorted(set(frame["table"]) - set(TABLES))
    if unknown:
        raise UserError(f"file {path}, column 'table': rule contract_table: not a contract table "
                        f"(baseline scores cannot be deleted); examples {examples(unknown)}")
    empty = frame.index[frame["id"] == ""]
    if len(empty):
        raise UserError(f"file {path}, column 'id': rule key_required: empty id on lines "
                        f"{examples((empty + 2).tolist())}")
    dup = frame[frame.duplicated(["table", "id"])]
    if len(dup):
        raise UserError(f"file {path}, column 'id': rule unique_key_in_extract: deletions listed "
                        f"twice; examples {examples(dup['id'].tolist())}")
    return {t: set(g["id"]) for t, g in frame.groupby("table")}


def _names() -> list[str]:
    return [*TABLES, BASELINE_SCORES.name]


def _read(folder: Path, name: str):
    raw = reader.read_table(folder, merge.table_def(name))
    if raw is not None:  # a DataFrame index pandas saved along (to_parquet without index=False)
        extra = [c for c in raw.columns if c.startswith("__index_level_")]
        if extra:
            raw.table = raw.table.drop_columns(extra)
    return raw


def _write(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        table.to_pandas().to_csv(path, index=False, na_rep="")


def _check_out(out: Path, inputs: list[Path]) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"folder {out}: rule new_folder: it exists and is not empty; a dataset "
                        "version is never overwritten (choose a new --out)")
    for folder in inputs:
        if out == folder or folder in out.parents or out in folder.parents:
            raise UserError(f"folder {out}: rule input_read_only: it overlaps the input {folder}; "
                            "the inputs are never modified")


def build_tables(base_dir: Path, extract_dir: Path, tmp: Path,
                 deletions: dict[str, set[str]]) -> dict[str, dict]:
    """Write every table of the new version into ``tmp``; per-table counts and keys."""
    info: dict[str, dict] = {}
    found_any = False
    for name in _names():
        base = _read(base_dir, name)
        ext = _read(extract_dir, name)
        gone = deletions.get(name, set())
        if ext is not None:
            found_any = True
        if base is None and ext is None:
            if gone:
                raise UserError(f"file {extract_dir / DELETIONS}, column 'table': rule "
                                f"delete_existing_row: table {name!r} is not in the base")
            continue
        fmt = (base or ext).path.suffix
        target = tmp / f"{name}{fmt}"
        if ext is None and not gone:
            shutil.copy2(base.path, target)  # unchanged: same bytes, same fingerprint part
            info[name] = {"source": "base", "file": target.name, "added": 0, "replaced": 0,
                          "removed": 0, "keys": {"added": [], "replaced": [], "removed": []}}
            continue
        text = fmt == ".csv"
        result = (merge.merge(base, ext, gone, text) if ext is not None
                  else merge.remove_only(base, gone, text))
        _write(result.table, target)
        info[name] = {"source": "extract" if ext is not None else "deletions", "file": target.name,
                      "added": len(result.added), "replaced": len(result.replaced),
                      "removed": len(result.removed),
                      "keys": {"added": result.added, "replaced": result.replaced,
                               "removed": result.removed}}
    if not found_any and not deletions:
        raise UserError(f"folder {extract_dir}: rule extract_not_empty: no contract table file "
                        f"(<table>.csv|parquet) and no {DELETIONS}; nothing to update")
    return info


def _load_new(tmp: Path, base_dir: Path, extract_dir: Path):
    """Validate the built version; an error names base and extract (the user's inputs), not
    the hidden staging folder."""
    from riskcohort.contract import load_dataset

    try:
        return load_dataset(tmp)
    except UserError as exc:
        raise UserError(f"new version of {base_dir} with extract {extract_dir}: {exc}",
                        exit_code=exc.exit_code) from None


def _records(old, new, info: dict, version: str, base_dir: Path, extract_dir: Path, out: Path,
             described: dict) -> tuple[dict, dict]:
    """``dataset.json`` (fingerprints, lineage, inputs) and ``changes.json`` (what changed),
    stamped with one creation time."""
    base_manifest = read_json(base_dir / MANIFEST, default={}) or {}
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = {
        "fingerprint": new.fingerprint, "base_fingerprint": old.fingerprint,
        "lineage": [old.fingerprint, *base_manifest.get("lineage", [])],
        "contract_version": version, "created_at": created,
        "base_dir": str(base_dir), "extract_dir": str(extract_dir),
        "extract_files": sorted(p.name for p in extract_dir.iterdir() if p.is_file()),
        "tables": {n: i["file"] for n, i in info.items()},
    }
    report = {"base": {"dir": str(base_dir), "fingerprint": old.fingerprint},
              "new": {"dir": str(out), "fingerprint": new.fingerprint},
              "contract_version": version, "created_at": created, **described}
    return manifest, report


def _publish(tmp: Path, out: Path, manifest: dict, report: dict) -> None:
    """Write the records into the staging folder and rename it into place: the new version
    appears whole or not at all."""
    from riskcohort.datasets import changes

    write_json(tmp / MANIFEST, manifest)
    write_json(tmp / "changes.json", report)
    write_text(tmp / "changes.md", changes.markdown(report))
    os.chmod(tmp, 0o755 & ~_umask())
    if out.exists():
        out.rmdir()  # empty (checked above): rename needs it gone
    os.rename(tmp, out)


def update_dataset(base_dir: str | Path, extract_dir: str | Path, out_dir: str | Path, *,
                   experiment: str | Path | None = None,
                   log: Callable[[str], Any] | None = None) -> UpdateResult:
    """Build, describe and publish a new dataset version (see the module docstring)."""
    from riskcohort.contract import load_dataset
    from riskcohort.datasets import changes

    log = log or logger.info
    base_dir, extract_dir = Path(base_dir).resolve(), Path(extract_dir).resolve()
    out = Path(out_dir).resolve()
    for folder in (base_dir, extract_dir):
        if not folder.is_dir():
            raise UserError(f"folder {folder}: rule dataset_folder: not a folder")
    _check_out(out, [base_dir, extract_dir])
    version = check_versions(base_dir, extract_dir)
    deletions = read_deletions(extract_dir)
    log(f"validating the base {base_dir}")
    old = load_dataset(base_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        info = build_tables(base_dir, extract_dir, tmp, deletions)
        log("validating the new version (base + extract)")
        new = _load_new(tmp, base_dir, extract_dir)
        log("comparing labels of the touched persons")
        described = changes.describe(old, new, info, experiment=experiment)
        manifest, report = _records(old, new, info, version, base_dir, extract_dir, out,
                                    described)
        _publish(tmp, out, manifest, report)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"published {out} (fingerprint {new.fingerprint[:12]}, base {old.fingerprint[:12]})")
    return UpdateResult(out, new.fingerprint, old.fingerprint, report)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_manifest(data_dir) -> dict:
    """``dataset.json`` of a dataset version ({} for a plain export)."""
    path = Path(data_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
