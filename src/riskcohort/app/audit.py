"""Append-only audit trail: an HMAC chain keyed by a secret kept outside the database.

Each row's ``hash`` is ``HMAC-SHA256(key, canonical row incl. prev_hash)`` and the head row
(``audit_head``: last id, last hash, key id, MAC) is updated in the same transaction. Without the
key, someone who can write the database cannot edit, insert, delete or re-chain rows, nor move the
head back, without ``verify`` noticing. Rows of other tables that the app shows as a record
(decisions now, casework plans later) are *sealed*: each insert or update appends an audit row
carrying a digest of the row's content, and the row keeps that audit id, so a row changed,
inserted or deleted behind the app's back is found too.

Two things only an anchor *outside* the database can catch - wiping everything and starting an
empty chain, or cutting the newest rows together with a replayed old head - so ``export_head``
writes a small signed head file that a force keeps elsewhere; ``verify(engine, head=...)`` checks
the database against it. Someone who holds the key *and* can write the database can rewrite the
chain; only an exported head kept out of their reach catches that (docs/app.md, threat model).

The key: ``RISKCOHORT_AUDIT_KEY`` (the secret itself, >= 32 characters), or a key file
(``--audit-key FILE``, ``RISKCOHORT_AUDIT_KEY_FILE``, default ``<database file>.audit-key`` for
SQLite, ``~/.config/riskcohort/audit-<id>.key`` otherwise), created with mode 0600 by
``riskcohort users init`` or the first start.

API for other stages (e.g. casework tables): give the table an integer ``audit_id`` column, call
:func:`register_sealed` once at import, and call :func:`seal_row` in the same transaction as each
insert or update (:func:`seal_delete` for a deletion).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from riskcohort.app.db import GENESIS, audit, audit_head, decisions
from riskcohort.errors import UserError

logger = logging.getLogger(__name__)
FIELDS = ("id", "at", "actor", "ip", "action", "target", "detail", "prev_hash")
KEY_ENV, KEY_FILE_ENV = "RISKCOHORT_AUDIT_KEY", "RISKCOHORT_AUDIT_KEY_FILE"
HEAD_FORMAT = "riskcohort-audit-head/1"
DELETED = "deleted"

_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Engine -> key bytes
_SEALED: dict[str, Table] = {}


def register_sealed(table: Table) -> None:
    """Declare a table whose rows are sealed into the chain (needs an ``audit_id`` column).

    ``verify`` then checks every row of it against its latest sealing record.
    """
    if "audit_id" not in table.c:
        raise ValueError(f"table {table.name} needs an audit_id column to be sealed")
    _SEALED[table.name] = table


register_sealed(decisions)


def now_iso() -> str:
    """UTC timestamp with microseconds, the one format stored in the chain."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[str, Any]) -> str:
    """Canonical serialisation hashed for a row.

    >>> canonical({"id": 1, "at": "t", "actor": "a", "ip": "i", "action": "x", "target": "p",
    ...            "detail": "{}", "prev_hash": "0"})
    '{"action":"x","actor":"a","at":"t","detail":"{}","id":1,"ip":"i","prev_hash":"0","target":"p"}'
    """
    return json.dumps({k: row[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)


# --- the key -------------------------------------------------------------------------------

def key_id(key: bytes) -> str:
    """A public fingerprint of the key (stored in the database and in exported heads)."""
    return hmac.new(key, b"riskcohort-audit key id", hashlib.sha256).hexdigest()[:16]


def default_key_file(url: str) -> Path | None:
    """Where the key lives when nothing says otherwise (None: in-memory database)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1] if ":///" in url else ""
        if not path or path == ":memory:":
            return None
        return Path(path + ".audit-key")
    from sqlalchemy.engine import make_url

    safe = make_url(url).render_as_string(hide_password=True)
    name = hashlib.sha256(safe.encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "riskcohort" / f"audit-{name}.key"


def _parse_key(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < 32:
        raise UserError(f"audit key from {where}: rule at least 32 characters (64 hex digits "
                        "as written by riskcohort users init)", exit_code=2)
    try:
        return bytes.fromhex(text)
    except ValueError:
        return text.encode("utf-8")


def load_key(url: str, key_file: str | Path | None = None, *, create: bool = True
             ) -> tuple[bytes, str, bool]:
    """(key, where it came from, whether it was just created).

    Order: ``key_file``; ``$RISKCOHORT_AUDIT_KEY``; ``$RISKCOHORT_AUDIT_KEY_FILE``; the default
    file. A missing file is created (0600, 256 random bits) when ``create``.
    """
    if key_file is None:
        if os.environ.get(KEY_ENV):
            return _parse_key(os.environ[KEY_ENV], f"${KEY_ENV}"), f"${KEY_ENV}", False
        key_file = os.environ.get(KEY_FILE_ENV) or default_key_file(url)
    if key_file is None:
        return secrets.token_bytes(32), "memory (in-memory database)", True
    path = Path(key_file)
    if path.exists():
        if path.stat().st_mode & 0o077:
            logger.warning("audit key file %s is readable by group or others; chmod 600 it", path)
        return _parse_key(path.read_text(encoding="utf-8"), str(path)), str(path), False
    if not create:
        raise UserError(f"audit key file {path} not found (set {KEY_ENV}, {KEY_FILE_ENV} or "
                        "--audit-key)", exit_code=1)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    try:  # publish whole; if another process made one meanwhile, theirs wins
        os.link(tmp, path)
    except FileExistsError:
        os.unlink(tmp)
        return _parse_key(path.read_text(encoding="utf-8"), str(path)), str(path), False
    except OSError:  # a file system without hard links
        os.replace(tmp, path)
    else:
        os.unlink(tmp)
    logger.info("created audit key file %s", path)
    return _parse_key(path.read_text(encoding="utf-8"), str(path)), str(path), True


def attach_key(engine: Engine, key: bytes) -> None:
    """Bind the key to an engine: every append through it is keyed with it."""
    _KEYS[engine] = key


def key_of(engine: Engine) -> bytes:
    """The engine's audit key (open the database with ``db.open_db`` to load it)."""
    try:
        return _KEYS[engine]
    except KeyError:
        raise RuntimeError("no audit key loaded for this database: open it with "
                           "riskcohort.app.db.open_db") from None


def derive_key(engine: Engine, purpose: str) -> bytes:
    """A separate secret for another use (e.g. signing login-form tokens), from the audit key."""
    return hmac.new(key_of(engine), b"riskcohort derive " + purpose.encode(),
                    hashlib.sha256).digest()


def _mac(key: bytes, label: str, text: str) -> str:
    return hmac.new(key, f"{label}|{text}".encode(), hashlib.sha256).hexdigest()


def row_hash(row: Mapping[str, Any], key: bytes) -> str:
    """HMAC of the canonical form (the chain link)."""
    return _mac(key, "row", canonical(row))


def legacy_hash(row: Mapping[str, Any]) -> str:
    """Unkeyed SHA-256 link of databases written before the chain was keyed (revision 0001)."""
    return hashlib.sha256(canonical(row).encode("ascii")).hexdigest()


def head_mac(key: bytes, last_id: int, last_hash: str) -> str:
    """MAC of the head row, so it cannot be moved back to an earlier row without the key."""
    return _mac(key, "head", f"{key_id(key)}|{last_id}|{last_hash}")


# --- appending ------------------------------------------------------------------------------

def append_conn(conn: Connection, actor: str, action: str, target: str = "", ip: str = "",
                detail: dict | None = None) -> int:
    """Append one row inside the caller's transaction (so it commits with the caller's change)."""
    key = key_of(conn.engine)
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
    row["hash"] = row_hash(row, key)
    conn.execute(audit.insert().values(**row))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(
        last_id=row["id"], last_hash=row["hash"], mac=head_mac(key, row["id"], row["hash"])))
    return row["id"]


def append(engine: Engine, actor: str, action: str, target: str = "", ip: str = "",
           detail: dict | None = None) -> int:
    """Append one row in its own transaction; raises if it could not be written."""
    with engine.begin() as conn:
        return append_conn(conn, actor, action, target, ip, detail)


def row_digest(table: Table, row: RowMapping | Mapping[str, Any]) -> str:
    """SHA-256 of a sealed row's content (every column but ``audit_id``)."""
    content = {c.name: row[c.name] for c in table.columns if c.name != "audit_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def _pk(table: Table):
    return next(iter(table.primary_key.columns))


def seal_row(conn: Connection, table: Table, row_id, *, actor: str, action: str, ip: str = "",
             target: str | None = None, detail: dict | None = None) -> int:
    """Seal the current content of one row into the chain; returns the audit id.

    Call it in the same transaction as the insert or update, after it. The audit row carries
    ``{"table", "row", "digest"}`` plus ``detail``; the row's ``audit_id`` is set to it.
    """
    pk = _pk(table)
    row = conn.execute(select(table).where(pk == row_id)).mappings().one()
    extra = dict(detail or {})
    extra.update({"table": table.name, "row": str(row_id), "digest": row_digest(table, row)})
    audit_id = append_conn(conn, actor, action, str(row_id) if target is None else target, ip,
                           extra)
    conn.execute(update(table).where(pk == row_id).values(audit_id=audit_id))
    return audit_id


def seal_delete(conn: Connection, table: Table, row_id, *, actor: str, action: str,
                ip: str = "", detail: dict | None = None) -> int:
    """Record in the chain that a sealed row was deleted (call it with the DELETE)."""
    extra = dict(detail or {})
    extra.update({"table": table.name, "row": str(row_id), "digest": DELETED})
    return append_conn(conn, actor, action, str(row_id), ip, extra)


# --- keying a database ------------------------------------------------------------------------

def ensure_keyed(engine: Engine, key: bytes, source: str, created: bool) -> None:
    """Check the key against the database; key a database that has none yet.

    A database from before the keyed chain (revision 0001) is keyed once: its SHA-256 chain must
    verify, then every row is re-linked with the key, decisions are sealed, and an
    ``audit_keyed`` row records it. A database keyed with another key is refused.
    """
    kid = key_id(key)
    with engine.begin() as conn:
        conn.execute(update(audit_head).where(audit_head.c.id == 1)
                     .values(last_id=audit_head.c.last_id))  # lock
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().one()
        if head["key_id"] == kid:
            return
        if head["key_id"] is not None:
            if created and source not in ("", None) and Path(source).exists():
                Path(source).unlink()  # do not leave a wrong key behind
            raise UserError(f"audit key from {source} (key id {kid}) is not the key this "
                            f"database's audit chain was sealed with (key id {head['key_id']}); "
                            f"restore that key or set {KEY_ENV} / {KEY_FILE_ENV}", exit_code=1)
        v = _walk(conn, None, legacy=True)
        if not v.ok:
            raise UserError(f"audit chain (unkeyed, before upgrade) broken at row {v.bad_id}: "
                            f"{v.reason}; not keying it - investigate first", exit_code=1)
        attach_key(engine, key)
        prev, n = GENESIS, 0
        for found in conn.execute(select(audit).order_by(audit.c.id)).mappings().all():
            r = dict(found, prev_hash=prev)
            r["hash"] = row_hash(r, key)
            conn.execute(update(audit).where(audit.c.id == r["id"])
                         .values(prev_hash=r["prev_hash"], hash=r["hash"]))
            prev, n = r["hash"], n + 1
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(
            key_id=kid, last_id=n, last_hash=prev, mac=head_mac(key, n, prev)))
        sealed = 0
        from sqlalchemy import inspect

        for table in _SEALED.values():
            if not inspect(conn).has_table(table.name):
                continue
            pk = _pk(table)
            for (rid,) in conn.execute(select(pk).where(table.c.audit_id.is_(None))
                                       .order_by(pk)).all():
                seal_row(conn, table, rid, actor="system", action="seal_existing",
                         detail={"note": "recorded before the audit chain was keyed"})
                sealed += 1
        if n or sealed:
            append_conn(conn, "system", "audit_keyed", "audit", "",
                        {"key_id": kid, "rows_relinked": n, "rows_sealed": sealed})
    logger.info("audit chain keyed with key id %s (%s); %d rows relinked", kid, source, n)


# --- verifying --------------------------------------------------------------------------------

@dataclass
class Verdict:
    """Result of a chain check: ``ok`` or the first bad row id and why."""

    ok: bool
    rows: int
    bad_id: int | None = None
    reason: str = ""


def _walk(conn: Connection, key: bytes | None, *, legacy: bool = False, batch: int = 5000,
          want: int | None = None, seals: dict | None = None) -> Verdict:
    """Walk the chain in id order; the first row that does not fit is reported.

    Collects the hash of row ``want`` (as ``Verdict.reason`` when ok) and, into ``seals``, the
    latest sealing record per (table, row).
    """
    prev_hash, expected_id, n, last = GENESIS, 1, 0, 0
    wanted = GENESIS if want == 0 else ""
    while True:
        rows = conn.execute(select(audit).where(audit.c.id > last)
                            .order_by(audit.c.id).limit(batch)).mappings().all()
        if not rows:
            break
        for found in rows:
            r = dict(found)
            if r["id"] != expected_id:
                return Verdict(False, n, expected_id, f"row {expected_id} is missing "
                               f"(next present row is {r['id']})")
            if r["prev_hash"] != prev_hash:
                return Verdict(False, n, r["id"], "prev_hash does not match the previous row")
            if legacy:
                good = legacy_hash(r)
            elif key is not None:
                good = row_hash(r, key)
            else:
                raise ValueError("a keyed audit chain is walked with its key")
            if not hmac.compare_digest(good, r["hash"]):
                return Verdict(False, n, r["id"], "row content does not match its hash")
            if seals is not None and '"digest"' in r["detail"]:
                try:
                    d = json.loads(r["detail"])
                    seals[(d["table"], str(d["row"]))] = (r["id"], d["digest"])
                except (ValueError, KeyError, TypeError):
                    pass
            if r["id"] == want:
                wanted = r["hash"]
            prev_hash, expected_id, n, last = r["hash"], expected_id + 1, n + 1, r["id"]
    return Verdict(True, n, None, wanted if want is not None else prev_hash)


def _check_sealed(conn: Connection, seals: dict) -> Verdict | None:
    """Every row of every sealed table matches its latest sealing record, and vice versa."""
    from sqlalchemy import inspect

    for name, table in _SEALED.items():
        pk = _pk(table)
        seen = set()
        if not inspect(conn).has_table(name):  # e.g. a stage whose migration is not here yet
            gone = [aid for (t, _), (aid, d) in seals.items() if t == name and d != DELETED]
            if gone:
                return Verdict(False, 0, gone[0], f"table {name}, recorded in the audit chain, "
                               "is missing")
            continue
        for row in conn.execute(select(table).order_by(pk)).mappings():
            rid = str(row[pk.name])
            seen.add(rid)
            rec = seals.get((name, rid))
            what = f"{name} row {rid}"
            if rec is None or rec[1] == DELETED:
                return Verdict(False, 0, row["audit_id"],
                               f"{what} is not in the audit chain (written outside the app)")
            if row["audit_id"] != rec[0]:
                return Verdict(False, 0, rec[0], f"{what} points at audit row "
                               f"{row['audit_id']} but its latest audit record is {rec[0]}")
            if row_digest(table, row) != rec[1]:
                return Verdict(False, 0, rec[0], f"{what} was changed after audit row {rec[0]} "
                               "recorded it")
        for (tname, rid), (aid, digest) in seals.items():
            if tname == name and rid not in seen and digest != DELETED:
                return Verdict(False, 0, aid, f"{name} row {rid} recorded by audit row {aid} "
                               "has been deleted")
    return None


def verify(engine: Engine, batch: int = 5000, head: dict | None = None) -> Verdict:
    """Check the chain, the head, the sealed tables and (if given) an exported head."""
    key = key_of(engine)
    seals: dict = {}
    with engine.connect() as conn:
        db_head = conn.execute(select(audit_head).where(audit_head.c.id == 1)
                               ).mappings().one_or_none()
        if db_head is None:
            return Verdict(False, 0, None, "audit head row is missing")
        if db_head["key_id"] != key_id(key):
            return Verdict(False, 0, None, f"the audit key (key id {key_id(key)}) is not the "
                           f"one this chain was sealed with (key id {db_head['key_id']})")
        want = int(head["last_id"]) if head is not None else None
        v = _walk(conn, key, batch=batch, want=want, seals=seals)
        if not v.ok:
            return v
        n, tail = v.rows, v.reason
        total = conn.execute(select(func.count()).select_from(audit)).scalar_one()
        last_hash = conn.execute(select(audit.c.hash).where(audit.c.id == n)
                                 ).scalar_one_or_none() if n else GENESIS
        sealed = _check_sealed(conn, seals)
    if db_head["last_id"] != n or db_head["last_hash"] != last_hash:
        return Verdict(False, n, n + 1 if db_head["last_id"] > n else db_head["last_id"],
                       f"chain ends at row {n} but the head records row {db_head['last_id']} "
                       "(rows deleted from the end, or head edited)")
    if not hmac.compare_digest(db_head["mac"] or "", head_mac(key, n, last_hash)):
        return Verdict(False, n, n or None, "the head row's MAC is wrong (head edited or "
                       "moved back without the key)")
    if total != n:
        return Verdict(False, n, None, f"{total - n} rows outside the chain")
    if sealed is not None:
        return Verdict(False, n, sealed.bad_id, sealed.reason)
    if head is not None and want is not None:  # want is set exactly when head is given
        if n < want:
            return Verdict(False, n, n + 1, f"the exported head (taken {head.get('exported_at')})"
                           f" records row {want}, but the chain ends at row {n} (truncated or "
                           "wiped and rebuilt)")
        if not hmac.compare_digest(tail, str(head["last_hash"])):
            return Verdict(False, n, want, f"row {want} differs from the exported head (taken "
                           f"{head.get('exported_at')}): the chain was rewritten")
    return Verdict(True, n)


def export_head(engine: Engine) -> dict:
    """The current head, signed with the key, to be stored outside the database."""
    key = key_of(engine)
    with engine.connect() as conn:
        h = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().one()
    out = {"format": HEAD_FORMAT, "key_id": key_id(key), "last_id": int(h["last_id"]),
           "last_hash": h["last_hash"], "exported_at": now_iso()}
    out["mac"] = _mac(key, "export", json.dumps(out, sort_keys=True, separators=(",", ":")))
    return out


def read_head(engine: Engine, path: str | Path) -> dict:
    """Load and authenticate an exported head file (UserError naming the file if bad)."""
    key = key_of(engine)
    try:
        head = json.loads(Path(path).read_text(encoding="utf-8"))
        body = {k: head[k] for k in ("format", "key_id", "last_id", "last_hash", "exported_at")}
        mac = head["mac"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not an audit head file written by `riskcohort audit head` "
                        f"({type(exc).__name__}: {exc})") from exc
    if body["format"] != HEAD_FORMAT or body["key_id"] != key_id(key):
        raise UserError(f"{path}: head for key id {body['key_id']}, but the audit key is "
                        f"{key_id(key)}", exit_code=1)
    good = _mac(key, "export", json.dumps(body, sort_keys=True, separators=(",", ":")))
    if not isinstance(mac, str) or not hmac.compare_digest(mac, good):
        raise UserError(f"{path}: the head file's MAC is wrong (edited)", exit_code=1)
    if not isinstance(body["last_id"], int) or body["last_id"] < 0:
        raise UserError(f"{path}: last_id must be a whole number >= 0", exit_code=1)
    return body


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
