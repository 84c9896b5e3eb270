"""The app's own state (users, sessions, decisions, audit trail) in SQLAlchemy tables.

Run folders are read-only inputs; everything the app writes lives here, in SQLite by default or
PostgreSQL. The schema is created only by the Alembic migrations in ``migrations/`` (run on start
and by every CLI command), so an existing database is upgraded in place rather than recreated.
Timestamps in the audit table are ISO-8601 strings so the hash chain's canonical form does not
depend on how a backend stores datetimes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import CursorResult, Engine

from riskcohort.errors import UserError

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("pw_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", String(40), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("expires_at", Integer, nullable=False),
    Column("last_seen", Integer, nullable=False),
)

# One row per (user name, client address): failures in the current window and the time before
# which further attempts are refused (exponential backoff). Counted before the password check.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("ip", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", Integer, nullable=False),
    Column("next_at", Integer, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", String(128), nullable=False, index=True),
    Column("iteration", String(64), nullable=False, index=True),
    Column("decision", String(16), nullable=False),
    Column("refer_to", String(16), nullable=True),
    Column("rationale", Text, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("audit_id", Integer, nullable=True),  # the audit row that sealed it (audit.seal_row)
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("action", String(32), nullable=False, index=True),
    Column("target", String(256), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row (id=1): the chain head, updated in the same transaction as each append, so deleting
# the newest audit rows is detected too (a chain alone only proves its own prefix). ``key_id``
# names the key the chain is sealed with; ``mac`` keys the head itself.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("key_id", String(32), nullable=True),
    Column("mac", String(64), nullable=True),
)

GENESIS = "0" * 64


def normalise_url(db: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (meaning SQLite).

    >>> normalise_url("work/app.db")
    'sqlite:///work/app.db'
    >>> normalise_url("postgresql+psycopg://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    if "://" in db:
        return db
    return f"sqlite:///{db}"


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key of the one row an ``insert().values(...)`` just wrote.

    Why a helper: SQLAlchemy types ``inserted_primary_key`` as optional (it is None for a
    multi-row insert), which a single-row insert into our tables never is; saying so here, once,
    turns an impossible None into a clear error instead of an index into nothing.
    """
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the insert returned no primary key (not a single-row insert)")
    return int(key[0])


def make_engine(db: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    url = normalise_url(db)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            parent = Path(path).parent
            if not parent.exists():
                raise UserError(f"database folder {parent} does not exist (from --db {db!r})")
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=False)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise UserError(f"--db {db!r}: only sqlite:/// and postgresql+psycopg:// URLs are supported")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_db(db: str, audit_key: str | Path | None = None, *, create_key: bool = True) -> Engine:
    """Engine with the schema migrated and the audit key loaded: what every entry point calls.

    ``audit_key`` is a key file; by default the key comes from ``$RISKCOHORT_AUDIT_KEY``,
    ``$RISKCOHORT_AUDIT_KEY_FILE`` or the default file (see ``audit.load_key``), created on
    first use unless ``create_key`` is false. A key that does not match the database is refused.
    """
    from riskcohort.app import audit as audit_log

    engine = make_engine(db)
    try:
        migrate(engine)
    except Exception as exc:  # connection refused, bad credentials, read-only file...
        if isinstance(exc, UserError):
            raise
        raise UserError(f"cannot open database {db!r}: {type(exc).__name__}: {exc}") from exc
    key, source, created = audit_log.load_key(str(engine.url.render_as_string(
        hide_password=False)), audit_key, create=create_key)
    audit_log.ensure_keyed(engine, key, source, created)
    audit_log.attach_key(engine, key)
    return engine
