"""The sign-off record: who approved (or rejected) a model for use, in what role, when, and why.

Why a file beside the run: the governance pack is read and archived with its run folder, years
later and offline, so the board's decision must travel with the run it is about. The same record
is mirrored on the MLflow model version as tags (``riskcohort.approval.*``) by ``riskcohort
approve`` so the registry shows it too; the pack reads the file first, then the tags.

Format (``RUN_DIR/approval.json``, schema ``riskcohort.approval/1``)::

    {"schema": "riskcohort.approval/1",
     "records": [                       # oldest first; the last one is the current decision
       {"decision": "approved",         # approved | approved with conditions | rejected | deferred
        "name": "A. Smith",             # who signed
        "role": "Chair, ethics board",  # in what capacity
        "date": "2026-11-30",           # the date of the decision (YYYY-MM-DD)
        "note": "12-month trial",       # conditions or reasons (may be "")
        "model_version": "3",           # registry version, or null
        "run_id": "ab12...",            # MLflow run id, or null
        "run": "iteration-3",           # run folder name (never an absolute path)
        "auto_approved": false,         # true only from --auto-approve (demo)
        "recorded_at": "2026-11-30T21:40:00+00:00"}]}

Only the standard library and the foundation modules (``io``, ``errors``, ``runfolder``) are
imported, so ``riskcohort approve`` can write the record without pulling in the pack. In a
published run folder the file is a verified *attachment* (``runfolder.attach``: its sha256 is
recorded in run.json); a file edited by hand afterwards is ignored, not shown as a sign-off.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from riskcohort.errors import UserError
from riskcohort.io import read_json, write_json

logger = logging.getLogger(__name__)
FILE_NAME = "approval.json"
SCHEMA = "riskcohort.approval/1"
DECISIONS = ("approved", "approved with conditions", "rejected", "deferred")
TAG_PREFIX = "riskcohort.approval."
TAG_FIELDS = ("decision", "name", "role", "date", "note", "auto_approved", "recorded_at")


@dataclass
class SignOff:
    """One decision of the board (or its delegate) about one run / model version."""

    decision: str
    name: str
    role: str
    date: str
    note: str = ""
    model_version: str | None = None
    run_id: str | None = None
    run: str | None = None
    auto_approved: bool = False
    recorded_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_tags(self) -> dict[str, str]:
        """MLflow tags for the model version (``riskcohort.approval.<field>``)."""
        d = self.to_dict()
        return {TAG_PREFIX + k: str(d[k]).lower() if isinstance(d[k], bool) else str(d[k] or "")
                for k in TAG_FIELDS}


def _check(decision: str, name: str, role: str, date: str) -> None:
    if decision not in DECISIONS:
        raise UserError(f"sign-off: decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if not str(name).strip() or not str(role).strip():
        raise UserError("sign-off: a name and a role are required (who signs, in what capacity)")
    try:
        dt.date.fromisoformat(str(date))
    except ValueError:
        raise UserError(f"sign-off: date {date!r} is not YYYY-MM-DD") from None


def _record(raw: dict) -> SignOff:
    fields = SignOff.__dataclass_fields__
    d: dict[str, Any] = {k: raw.get(k) for k in fields if k in raw}
    d["auto_approved"] = str(d.get("auto_approved", False)).lower() in ("true", "1", "yes")
    for k in ("decision", "name", "role", "date", "note"):
        d[k] = "" if d.get(k) is None else str(d[k])
    return SignOff(**d)


def _verified(run_dir: Path) -> bool:
    """In a published run folder, approval.json counts only as the attachment run.json records
    (same sha256): a file edited by hand afterwards is not a sign-off."""
    from riskcohort import runfolder
    from riskcohort.io import sha256_file

    if not runfolder.is_run_folder(run_dir):
        return True
    digest = runfolder.read_manifest(run_dir).attachments.get(FILE_NAME)
    if digest is None or sha256_file(run_dir / FILE_NAME) != digest:
        logger.warning("%s: not the sign-off recorded in run.json (edited or stale); ignored",
                       run_dir / FILE_NAME)
        return False
    return True


def read_all(run_dir) -> list[SignOff]:
    """Every sign-off recorded beside a run, oldest first ([] when there is none)."""
    run_dir = Path(run_dir)
    if not (run_dir / FILE_NAME).is_file() or not _verified(run_dir):
        return []
    raw = read_json(run_dir / FILE_NAME, default=None)
    if raw is None:
        return []
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise UserError(f"{Path(run_dir) / FILE_NAME}: not a sign-off record (schema "
                        f"{raw.get('schema') if isinstance(raw, dict) else type(raw).__name__!r},"
                        f" expected {SCHEMA!r})")
    return [_record(r) for r in raw.get("records") or [] if isinstance(r, dict)]


def read(run_dir=None, tags: dict | None = None) -> SignOff | None:
    """The current sign-off: the last record of ``RUN_DIR/approval.json``, else one rebuilt from
    a model version's MLflow ``tags``, else None (not signed)."""
    if run_dir is not None:
        records = read_all(run_dir)
        if records:
            return records[-1]
    return from_tags(tags or {})


def from_tags(tags: dict) -> SignOff | None:
    """A sign-off from ``riskcohort.approval.*`` tags (None when there is no decision tag)."""
    vals = {k[len(TAG_PREFIX):]: v for k, v in tags.items() if str(k).startswith(TAG_PREFIX)}
    if not vals.get("decision"):
        return None
    return _record(vals)


def write(run_dir, *, decision: str, name: str, role: str, date: str | None = None,
          note: str = "", model_version=None, run_id: str | None = None,
          auto_approved: bool = False) -> SignOff:
    """Append a sign-off to ``RUN_DIR/approval.json`` (written atomically) and return it."""
    run_dir = Path(run_dir)
    date = date or dt.date.today().isoformat()
    _check(decision, name, role, date)
    rec = SignOff(decision=decision, name=str(name).strip(), role=str(role).strip(), date=date,
                  note=note or "", model_version=None if model_version is None
                  else str(model_version), run_id=run_id, run=run_dir.name,
                  auto_approved=bool(auto_approved),
                  recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    records = read_all(run_dir) if run_dir.is_dir() else []
    data = {"schema": SCHEMA, "records": [r.to_dict() for r in [*records, rec]]}
    from riskcohort import runfolder

    if runfolder.is_run_folder(run_dir):  # a published run: a verified attachment
        runfolder.attach(run_dir, FILE_NAME, lambda tmp: write_json(tmp, data))
    else:
        write_json(run_dir / FILE_NAME, data)
    return rec
