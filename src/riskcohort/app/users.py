"""User accounts (argon2 password hashes), login with per user+IP throttling, and sessions.

Sessions are server-side rows keyed by the SHA-256 of a random cookie token: logging out or
disabling a user ends the session at once, and a stolen database does not yield usable cookies.
Each session carries its own CSRF token, checked on every POST.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from riskcohort.app import audit as audit_log
from riskcohort.app.db import login_failures, sessions, users
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
    """Too many failed logins for this user name from this address."""


def login(engine: Engine, name: str, password: str, ip: str, *, max_failures: int = 5,
          window_s: int = 900, ttl_s: int = 8 * 3600) -> str | None:
    """Check credentials; return a new session token, None on failure; raise Throttled.

    Unknown users still cost one argon2 verification, so timing does not reveal who exists.
    Every attempt is audited (``login``, ``login_failed``, ``login_throttled``).
    """
    name = (name or "")[:64]
    now = int(time.time())
    with engine.connect() as conn:
        fails = conn.execute(select(func.count()).select_from(login_failures).where(
            login_failures.c.username == name, login_failures.c.ip == ip,
            login_failures.c.at > now - window_s)).scalar_one()
        user = conn.execute(select(users).where(users.c.name == name)).mappings().one_or_none()
    if fails >= max_failures:
        audit_log.append(engine, name, "login_throttled", name, ip)
        raise Throttled()
    ok = False
    try:
        ok = _hasher.verify(user["pw_hash"] if user else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user["active"]:
        with engine.begin() as conn:
            conn.execute(login_failures.insert().values(username=name, ip=ip, at=now))
            audit_log.append_conn(conn, name, "login_failed", name, ip)
        return None
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(sessions.insert().values(
            token_hash=_token_hash(token), user_id=user["id"], csrf=secrets.token_urlsafe(24),
            created_at=now, expires_at=now + ttl_s, last_seen=now))
        conn.execute(delete(login_failures).where(login_failures.c.username == name,
                                                  login_failures.c.ip == ip))
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        audit_log.append_conn(conn, name, "login", name, ip)
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
