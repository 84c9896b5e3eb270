"""Users, argon2 hashes, login throttling and sessions (DB level, SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from riskcohort.app import users
from riskcohort.app.audit import query, verify
from riskcohort.app.db import open_db
from riskcohort.app.db import users as users_table
from riskcohort.errors import UserError

PW = "a long enough password"


def test_add_list_disable(db_url):
    eng = open_db(db_url)
    users.add_user(eng, "alice", "dapst", PW)
    users.add_user(eng, "bob", "governance", PW)
    assert [(u["name"], u["role"], u["active"]) for u in users.list_users(eng)] == [
        ("alice", "dapst", True), ("bob", "governance", True)]
    with eng.connect() as conn:
        h = conn.execute(select(users_table.c.pw_hash).where(users_table.c.name == "alice"))
        stored = h.scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored
    token = users.login(eng, "alice", PW, "10.0.0.1")
    assert users.session_principal(eng, token).name == "alice"
    users.disable_user(eng, "alice")
    assert users.session_principal(eng, token) is None  # sessions ended
    assert users.login(eng, "alice", PW, "10.0.0.1") is None
    assert [a["action"] for a in query(eng)][:3] == ["login_failed", "user_disable", "login"]
    assert verify(eng).ok


@pytest.mark.parametrize("name,role,pw", [("a", "dapst", PW), ("ok_name", "root", PW),
                                          ("ok_name", "dapst", "short"), ("x y", "admin", PW)])
def test_invalid_users_rejected(db_url, name, role, pw):
    eng = open_db(db_url)
    with pytest.raises(UserError):
        users.add_user(eng, name, role, pw)
    assert users.list_users(eng) == []


def test_duplicate_user_rejected(db_url):
    eng = open_db(db_url)
    users.add_user(eng, "alice", "dapst", PW)
    with pytest.raises(UserError, match="already exists"):
        users.add_user(eng, "alice", "admin", PW)


def test_throttle_per_user_and_ip(db_url):
    eng = open_db(db_url)
    users.add_user(eng, "alice", "dapst", PW)
    for _ in range(3):
        assert users.login(eng, "alice", "wrong", "10.0.0.1", max_failures=3) is None
    with pytest.raises(users.Throttled):
        users.login(eng, "alice", PW, "10.0.0.1", max_failures=3)  # even the right password
    assert users.login(eng, "alice", PW, "10.0.0.2", max_failures=3)  # other address
    assert "login_throttled" in [a["action"] for a in query(eng)]


def test_session_expiry_and_idle(db_url, monkeypatch):
    eng = open_db(db_url)
    users.add_user(eng, "alice", "dapst", PW)
    token = users.login(eng, "alice", PW, "ip", ttl_s=100)
    assert users.session_principal(eng, token, idle_s=50) is not None
    now = time.time()
    monkeypatch.setattr(users.time, "time", lambda: now + 60)
    assert users.session_principal(eng, token, idle_s=50) is None  # idle too long
    assert users.session_principal(eng, token, idle_s=1000) is not None
    monkeypatch.setattr(users.time, "time", lambda: now + 101)
    assert users.session_principal(eng, token, idle_s=1000) is None  # absolute expiry
    assert users.session_principal(eng, "forged-token") is None


def test_production_hasher_defaults_are_strong():
    from argon2 import PasswordHasher

    h = PasswordHasher()
    assert h.time_cost >= 2 and h.memory_cost >= 19 * 1024  # OWASP argon2id minimum


def test_cli_users(db_url):
    from riskcohort.cli import app

    run = CliRunner().invoke
    r = run(app, ["users", "add", "carol", "--role", "analyst", "--password-stdin", "--db", db_url],
            input=PW + "\n")
    assert r.exit_code == 0, r.output
    r = run(app, ["users", "list", "--db", db_url])
    assert "carol\tanalyst\tactive" in r.output
    assert run(app, ["users", "disable", "carol", "--db", db_url]).exit_code == 0
    assert "carol\tanalyst\tdisabled" in run(app, ["users", "list", "--db", db_url]).output
    r = run(app, ["users", "add", "dave", "--role", "boss", "--password-stdin", "--db", db_url],
            input=PW + "\n")
    assert r.exit_code != 0
