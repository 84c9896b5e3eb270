"""Fixtures of the app tests: a synthetic run folder, databases (SQLite always, a real local
PostgreSQL server for ``@pytest.mark.postgres``), and logged-in clients per role."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from riskcohort.app.db import open_db
from riskcohort.app.rundata import load_runs
from riskcohort.app.synthetic import build_history
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, ROLES, csrf_of, free_port, login


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2():
    """Cheap argon2 parameters for speed; test_users checks the production defaults."""
    from argon2 import PasswordHasher

    from riskcohort.app import users

    default = users._hasher
    users.set_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    users.set_hasher(default)


@pytest.fixture(scope="session")
def run_root(tmp_path_factory):
    """Two monthly iterations of 300 people (cohort of 50)."""
    return build_history(tmp_path_factory.mktemp("runs") / "runs", n=300, iterations=2, k=50)


@pytest.fixture(scope="session")
def runs(run_root):
    return load_runs([run_root])



def _pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found (run: make system-deps)")
    return os.path.dirname(found[-1])


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server on a free loopback port (as user postgres when root)."""
    bindir = _pg_bin()
    base = tempfile.mkdtemp(prefix="rc-pg-", dir="/tmp")
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    wrap = ["runuser", "-u", "postgres", "--"] if as_root else []
    data, port = os.path.join(base, "data"), free_port()

    def run(*cmd):
        subprocess.run([*wrap, *cmd], check=True, capture_output=True, timeout=120)

    run(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    run(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(base, "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*wrap, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def new_pg_db(server: str) -> str:
    import psycopg

    name = "rc_" + uuid.uuid4().hex[:12]
    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                      pytest.mark.xdist_group("app-postgres")])]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return new_pg_db(request.getfixturevalue("pg_server"))


@pytest.fixture
def engine(tmp_path):
    """A migrated SQLite database with one user per role (name = role)."""
    eng = open_db(f"sqlite:///{tmp_path / 'app.db'}")
    for role in ROLES:
        add_user(eng, role, role, PASSWORD)
    yield eng
    eng.dispose()


@pytest.fixture
def app(runs, engine):
    return create_app(runs, engine, Settings(use_explain=False))




@pytest.fixture
def client_for(app):
    """Factory: a TestClient logged in as ``role`` (None = anonymous)."""
    from fastapi.testclient import TestClient

    made = []

    def make(role: str | None, ip: str = "testclient"):
        c = TestClient(app, client=(ip, 50000))
        made.append(c)
        if role:
            r = login(c, role)
            assert r.status_code == 303, r.text
            c.csrf = csrf_of(c.get("/cohort" if role != "admin" else "/admin/users").text)
        return c

    yield make
    for c in made:
        c.close()
