"""Hash-chained audit trail on SQLite and a real PostgreSQL: tampering and deletion detected.

(Keyed-chain attacks by someone who can write the database: tests/app/test_audit_keyed.py.)"""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from riskcohort.app import audit
from riskcohort.app.db import audit as audit_table
from riskcohort.app.db import open_db


def _filled(db_url, n=6):
    eng = open_db(db_url)
    for i in range(n):
        audit.append(eng, f"user{i % 2}", "view_person", f"P{i:06d}", "127.0.0.1", {"i": i})
    return eng


def _cli(*args):
    from riskcohort.cli import app

    return CliRunner().invoke(app, list(args))


def test_intact_chain_verifies(db_url):
    eng = _filled(db_url)
    v = audit.verify(eng)
    assert v.ok and v.rows == 6
    with eng.connect() as conn:
        rows = conn.execute(select(audit_table).order_by(audit_table.c.id)).mappings().all()
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))
    res = _cli("audit", "verify", "--db", db_url)
    assert res.exit_code == 0 and "6 rows" in res.output


def test_edited_row_is_detected(db_url):
    eng = _filled(db_url)
    with eng.begin() as conn:
        conn.execute(update(audit_table).where(audit_table.c.id == 3).values(target="P999999"))
    v = audit.verify(eng)
    assert not v.ok and v.bad_id == 3 and "hash" in v.reason
    res = _cli("audit", "verify", "--db", db_url)
    assert res.exit_code == 1 and "row 3" in res.output


def test_edited_row_with_recomputed_hash_is_detected_without_the_key(db_url):
    eng = _filled(db_url)
    with eng.connect() as conn:
        row = dict(conn.execute(select(audit_table).where(audit_table.c.id == 2)).mappings().one())
    row["actor"] = "someone-else"
    with eng.begin() as conn:  # the attacker recomputes a plain SHA-256 (no key)
        conn.execute(update(audit_table).where(audit_table.c.id == 2)
                     .values(actor=row["actor"], hash=audit.legacy_hash(row)))
    v = audit.verify(eng)
    assert not v.ok and v.bad_id == 2


def test_deleted_middle_row_is_detected(db_url):
    eng = _filled(db_url)
    with eng.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.id == 4))
    v = audit.verify(eng)
    assert not v.ok and v.bad_id == 4 and "missing" in v.reason


def test_deleted_last_row_is_detected(db_url):
    eng = _filled(db_url)
    with eng.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.id == 6))
    v = audit.verify(eng)
    assert not v.ok and v.bad_id == 6
    assert _cli("audit", "verify", "--db", db_url).exit_code == 1


def test_concurrent_appends_keep_one_chain(db_url):
    eng = _filled(db_url, n=1)
    errors = []

    def work(k):
        try:
            for i in range(10):
                audit.append(eng, f"t{k}", "export", f"x{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    v = audit.verify(eng)
    assert v.ok and v.rows == 41
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_table)).scalar_one() == 41


def test_migrations_are_idempotent_and_at_head(db_url):
    eng = open_db(db_url)
    eng2 = open_db(db_url)  # second start: upgrade is a no-op
    with eng2.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0004"
        assert conn.execute(text("SELECT last_id FROM audit_head")).scalar_one() == 0
    eng.dispose()
    eng2.dispose()


def test_query_filters_use_parameters(db_url):
    eng = _filled(db_url)
    assert len(audit.query(eng, actor="user0")) == 3
    assert audit.query(eng, actor="x' OR '1'='1") == []
    assert len(audit.query(eng, target="P000002")) == 1
