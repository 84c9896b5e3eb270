"""User accounts (argon2 password hashes), login with per user+IP throttling, and sessions.

Throttling is judged atomically: each attempt is *counted before* the password is checked, in one
short transaction whose conditional UPDATE is the lock, so N parallel guesses get at most
``max_failures`` password checks. Past the limit, further attempts from that address for that name
wait an exponential backoff (``backoff_s``, doubling, capped at the window) instead of a hard
lock-out; attempts from other addresses are not affected, so a stranger cannot lock an officer
out. A refused attempt costs one read - no argon2, no write - and is audited in aggregate (one
``login_throttled`` row per user, address and ``throttle_audit_s``).

Sessions are server-side rows keyed by the SHA-256 of a random cookie token: logging out or
disabling a user ends the session at once, and a stolen database does not yield usable cookies.
Each session carries its own CSRF token, checked on every POST.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from riskcohort.app import audit as audit_log
from riskcohort.app.db import login_throttle, sessions, users
from riskcohort.errors import UserError

ROLES = ("dapst", "analyst", "governance", "admin")
NAME_RULE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_DUMMY = _hasher.hash("not-a-password-" + secrets.token_hex(8))


def set_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (tests use cheap ones; stored hashes keep their own)."""
    global _hasher, _DUMMY
    _hasher = hasher
    _DUMMY = hasher.hash("not-a-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Principal:
    """The logged-in user as the views see it."""

    user_id: int
    name: str
    role: str
    csrf: str


def add_user(engine: Engine, name: str, role: str, password: str, actor: str = "cli",
             ip: str = "") -> None:
    """Create a user; name and role are validated, the password only stored as an argon2 hash."""
    if not NAME_RULE.match(name or ""):
        raise UserError(f"user name {name!r}: rule 2-64 characters of letters, digits, _ . @ -")
    if role not in ROLES:
        raise UserError(f"role {role!r}: rule one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise UserError("password: rule at least 10 characters")
    try:
        with engine.begin() as conn:
            conn.execute(users.insert().values(
                name=name, role=role, pw_hash=_hasher.hash(password), active=True,
                created_at=audit_log.now_iso()))
            audit_log.append_conn(conn, actor, "user_add", name, ip, {"role": role})
    except IntegrityError as exc:
        raise UserError(f"user {name!r} already exists") from exc


def list_users(engine: Engine) -> list[dict]:
    """All users (without hashes), by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.name, users.c.role, users.c.active, users.c.created_at)
                            .order_by(users.c.name)).mappings()
        return [dict(r) for r in rows]


def disable_user(engine: Engine, name: str, actor: str = "cli", ip: str = "") -> None:
    """Disable a user and end their sessions (the row stays: decisions refer to it)."""
    with engine.begin() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one_or_none()
        if uid is None:
            raise UserError(f"user {name!r} does not exist")
        conn.execute(update(users).where(users.c.id == uid).values(active=False))
        conn.execute(delete(sessions).where(sessions.c.user_id == uid))
        audit_log.append_conn(conn, actor, "user_disable", name, ip)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Throttled(Exception):
    """Too many failed logins for this user name from this address (``retry_after`` seconds)."""

    def __init__(self, retry_after: float = 0):
        super().__init__(f"retry after {retry_after:.0f} s")
        self.retry_after = retry_after


_throttle_log: dict[tuple[str, str], list] = {}  # (name, ip) -> [unlogged count, last logged]
_throttle_lock = threading.Lock()


def _note_throttled(engine: Engine, name: str, ip: str, now: float, every_s: int) -> None:
    """Audit refused attempts in aggregate: the first at once, then one row per ``every_s``."""
    with _throttle_lock:
        if len(_throttle_log) > 10_000:
            _throttle_log.clear()
        entry = _throttle_log.setdefault((name, ip), [0, 0.0])
        entry[0] += 1
        if now - entry[1] < every_s:
            return
        attempts, entry[0], entry[1] = entry[0], 0, now
    audit_log.append(engine, name, "login_throttled", name, ip, {"attempts": attempts})


def _flush_throttled(conn: Connection, name: str, ip: str) -> None:
    """Write out refused attempts not yet audited (on the next counted attempt)."""
    with _throttle_lock:
        entry = _throttle_log.pop((name, ip), None)
    if entry and entry[0]:
        audit_log.append_conn(conn, name, "login_throttled", name, ip, {"attempts": entry[0]})


def _upsert_ignore(conn: Connection, name: str, ip: str) -> None:
    values = {"username": name, "ip": ip, "failures": 0, "last_at": 0, "next_at": 0}
    # each dialect has its own insert with ON CONFLICT DO NOTHING (two distinct types)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(login_throttle).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(login_throttle).values(**values).on_conflict_do_nothing())


def count_attempt(engine: Engine, name: str, ip: str, *, max_failures: int, window_s: int,
                  backoff_s: int, now: int) -> float:
    """Count one attempt as a failure *before* the password check; 0 if allowed, else the wait.

    One transaction: the conditional UPDATE takes the row (PostgreSQL) or database (SQLite)
    write lock, so concurrent attempts are judged one after another.
    """
    t = login_throttle
    key = (t.c.username == name) & (t.c.ip == ip)
    stale = t.c.last_at <= now - window_s
    with engine.begin() as conn:
        _upsert_ignore(conn, name, ip)
        res = conn.execute(update(t).where(key, or_(t.c.next_at <= now, stale)).values(
            failures=case((stale, 1), else_=t.c.failures + 1), last_at=now,
            next_at=case((stale, 0), else_=t.c.next_at)))
        if res.rowcount == 0:
            return max(1.0, float(conn.execute(select(t.c.next_at).where(key)).scalar_one() - now))
        failures = conn.execute(select(t.c.failures).where(key)).scalar_one()
        if failures >= max_failures:
            delay = min(window_s, backoff_s * 2 ** min(failures - max_failures, 20))
            conn.execute(update(t).where(key).values(next_at=now + delay))
        _flush_throttled(conn, name, ip)
    return 0.0


def login(engine: Engine, name: str, password: str, ip: str, *, max_failures: int = 5,
          window_s: int = 900, ttl_s: int = 8 * 3600, backoff_s: int = 30,
          single_session: bool = True, throttle_audit_s: int = 60) -> str | None:
    """Check credentials; return a new session token, None on failure; raise Throttled.

    Unknown users still cost one argon2 verification, so timing does not reveal who exists.
    Audited: ``login``, ``login_failed``, and refused attempts as ``login_throttled`` (in
    aggregate). With ``single_session`` a successful login ends the user's older sessions.
    """
    name, ip = (name or "")[:64], (ip or "")[:64]
    now = int(time.time())
    t = login_throttle
    with engine.connect() as conn:  # cheap refusal first: one read, no write, no argon2
        row = conn.execute(select(t.c.next_at, t.c.last_at).where(
            t.c.username == name, t.c.ip == ip)).one_or_none()
    if row is not None and row.next_at > now and row.last_at > now - window_s:
        _note_throttled(engine, name, ip, now, throttle_audit_s)
        raise Throttled(row.next_at - now)
    wait = count_attempt(engine, name, ip, max_failures=max_failures, window_s=window_s,
                         backoff_s=backoff_s, now=now)
    if wait:
        _note_throttled(engine, name, ip, now, throttle_audit_s)
        raise Throttled(wait)
    with engine.connect() as conn:
        user = conn.execute(select(users).where(users.c.name == name)).mappings().one_or_none()
    ok = False
    try:
        ok = _hasher.verify(user["pw_hash"] if user else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user["active"]:
        audit_log.append(engine, name, "login_failed", name, ip)  # already counted above
        return None
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        ended = 0
        if single_session:
            ended = conn.execute(delete(sessions).where(sessions.c.user_id == user["id"])
                                 ).rowcount
        conn.execute(sessions.insert().values(
            token_hash=_token_hash(token), user_id=user["id"], csrf=secrets.token_urlsafe(24),
            created_at=now, expires_at=now + ttl_s, last_seen=now))
        conn.execute(delete(t).where(or_((t.c.username == name) & (t.c.ip == ip),
                                         t.c.last_at < now - window_s)))
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        audit_log.append_conn(conn, name, "login", name, ip,
                              {"ended_sessions": ended} if ended else None)
    return token


def session_principal(engine: Engine, token: str | None, *, idle_s: int = 1800) -> Principal | None:
    """The active user behind a session cookie, or None if absent, expired, idle or disabled."""
    if not token or len(token) > 128:
        return None
    now = int(time.time())
    th = _token_hash(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(sessions, users.c.name, users.c.role, users.c.active)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == th)).mappings().one_or_none()
    if row is None or not row["active"] or row["expires_at"] <= now \
            or row["last_seen"] + idle_s <= now:
        return None
    if now - row["last_seen"] >= 60:  # touch at most once a minute: few writes under load
        with engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == th)
                         .values(last_seen=now))
    return Principal(row["user_id"], row["name"], row["role"], row["csrf"])


def logout(engine: Engine, token: str | None, principal: Principal, ip: str) -> None:
    """End the session and audit it."""
    with engine.begin() as conn:
        if token:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _token_hash(token)))
        audit_log.append_conn(conn, principal.name, "logout", principal.name, ip)


def utc_date() -> str:
    """Today's UTC date (for default filters)."""
    return dt.datetime.now(dt.UTC).date().isoformat()
