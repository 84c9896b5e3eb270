"""Helpers shared by the app tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import re
import socket
import time

PASSWORD = "correct horse battery"
ROLES = ("dapst", "analyst", "governance", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in page"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):
    """Log in through the form; returns the response of the POST."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf": token},
                       follow_redirects=False)


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def engine_at_revision(db_url: str, revision: str):
    """A database migrated only up to ``revision`` (to test upgrades from an older schema)."""
    import os

    from alembic import command
    from alembic.config import Config

    from riskcohort.app import db as dbmod

    eng = dbmod.make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(os.path.dirname(dbmod.__file__),
                                                        "migrations"))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return eng


def stop_server(proc, timeout: float = 20.0) -> None:
    """End a `riskcohort serve` subprocess started by a fixture: SIGTERM (it shuts down cleanly),
    SIGKILL only when it does not exit in time, so one hung server cannot hang the suite."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


def browser_sign_in(page, name: str, password: str = PASSWORD) -> None:
    """Fill and submit the login form on the page showing it (Playwright)."""
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("form.login button")


def browser_switch_user(page, name: str, password: str = PASSWORD) -> None:
    """Sign out through the page's logout button, then sign in as ``name`` (Playwright)."""
    page.click("form.logout button")
    page.wait_for_selector("form.login")
    browser_sign_in(page, name, password)
