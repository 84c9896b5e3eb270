"""Append-only, hash-chained audit trail: who saw, exported or decided what, and when.

Each row stores the hash of the previous row and its own hash over a canonical JSON form of its
fields (sorted keys, no whitespace, ids and strings only), so editing any field, deleting or
re-ordering rows breaks the chain. The head row (``audit_head``) is updated in the same
transaction, so deleting the newest rows is detected too. ``append`` first updates the head row:
that takes the write lock (SQLite) or the row lock (PostgreSQL) before the previous hash is read,
so concurrent writers cannot fork the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from riskcohort.app.db import GENESIS, audit, audit_head

FIELDS = ("id", "at", "actor", "ip", "action", "target", "detail", "prev_hash")


def now_iso() -> str:
    """UTC timestamp with microseconds, the one format stored in the chain."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: dict) -> str:
    """Canonical serialisation hashed for a row.

    >>> canonical({"id": 1, "at": "t", "actor": "a", "ip": "i", "action": "x", "target": "p",
    ...            "detail": "{}", "prev_hash": "0"})
    '{"action":"x","actor":"a","at":"t","detail":"{}","id":1,"ip":"i","prev_hash":"0","target":"p"}'
    """
    return json.dumps({k: row[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)


def row_hash(row: dict) -> str:
    """SHA-256 of the canonical form."""
    return hashlib.sha256(canonical(row).encode("ascii")).hexdigest()


def append_conn(conn: Connection, actor: str, action: str, target: str = "", ip: str = "",
                detail: dict | None = None) -> int:
    """Append one row inside the caller's transaction (so it commits with the caller's change)."""
    conn.execute(update(audit_head).where(audit_head.c.id == 1)
                 .values(last_id=audit_head.c.last_id))  # lock the head first
    last_id, last_hash = conn.execute(
        select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == 1)).one()
    row = {
        "id": int(last_id) + 1,
        "at": now_iso(),
        "actor": str(actor)[:64],
        "ip": str(ip)[:64],
        "action": str(action)[:32],
        "target": str(target)[:256],
        "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str),
        "prev_hash": last_hash,
    }
    row["hash"] = row_hash(row)
    conn.execute(audit.insert().values(**row))
    conn.execute(update(audit_head).where(audit_head.c.id == 1)
                 .values(last_id=row["id"], last_hash=row["hash"]))
    return row["id"]


def append(engine: Engine, actor: str, action: str, target: str = "", ip: str = "",
           detail: dict | None = None) -> int:
    """Append one row in its own transaction; raises if it could not be written."""
    with engine.begin() as conn:
        return append_conn(conn, actor, action, target, ip, detail)


@dataclass
class Verdict:
    """Result of a chain check: ``ok`` or the first bad row id and why."""

    ok: bool
    rows: int
    bad_id: int | None = None
    reason: str = ""


def verify(engine: Engine, batch: int = 5000) -> Verdict:
    """Walk the chain in id order; the first row that does not fit is reported."""
    prev_hash, expected_id, n = GENESIS, 1, 0
    with engine.connect() as conn:
        last = 0
        while True:
            rows = conn.execute(select(audit).where(audit.c.id > last)
                                .order_by(audit.c.id).limit(batch)).mappings().all()
            if not rows:
                break
            for r in rows:
                r = dict(r)
                if r["id"] != expected_id:
                    return Verdict(False, n, expected_id, f"row {expected_id} is missing "
                                   f"(next present row is {r['id']})")
                if r["prev_hash"] != prev_hash:
                    return Verdict(False, n, r["id"], "prev_hash does not match the previous row")
                if row_hash(r) != r["hash"]:
                    return Verdict(False, n, r["id"], "row content does not match its hash")
                prev_hash, expected_id, n, last = r["hash"], expected_id + 1, n + 1, r["id"]
        head = conn.execute(select(audit_head.c.last_id, audit_head.c.last_hash)
                            .where(audit_head.c.id == 1)).one_or_none()
        total = conn.execute(select(func.count()).select_from(audit)).scalar_one()
    if head is None:
        return Verdict(False, n, None, "audit head row is missing")
    if head.last_id != n or head.last_hash != prev_hash:
        return Verdict(False, n, n + 1 if head.last_id > n else head.last_id,
                       f"chain ends at row {n} but the head records row {head.last_id} "
                       "(rows deleted from the end, or head edited)")
    if total != n:
        return Verdict(False, n, None, f"{total - n} rows outside the chain")
    return Verdict(True, n)


def query(engine: Engine, *, actor: str = "", action: str = "", target: str = "",
          date_from: str = "", date_to: str = "", limit: int = 200, offset: int = 0):
    """Filtered rows, newest first (bound parameters only: filters are user input)."""
    q = select(audit)
    if actor:
        q = q.where(audit.c.actor == actor)
    if action:
        q = q.where(audit.c.action == action)
    if target:
        q = q.where(audit.c.target == target)
    if date_from:
        q = q.where(audit.c.at >= date_from)
    if date_to:
        q = q.where(audit.c.at < date_to + "~")  # '~' sorts after any time suffix of that day
    q = q.order_by(audit.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
