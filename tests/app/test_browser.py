"""End to end in real headless Chromium: ``riskcohort serve`` in a subprocess on a free loopback
port; a DAPST officer logs in, opens the cohort and a person, records a decision; a governance
user then finds it in the audit log. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.apptest_helpers import (
    browser_sign_in,
    browser_switch_user,
    free_port,
    stop_server,
    wait_port,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PW = "browser test password"


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "riskcohort.cli", *args], input=stdin, text=True,
                          capture_output=True, timeout=120, check=True)


@pytest.fixture
def server(tmp_path, run_root):
    db = f"sqlite:///{tmp_path / 'app.db'}"
    _cli("users", "add", "dee", "--role", "dapst", "--password-stdin", "--db", db, stdin=PW)
    _cli("users", "add", "gov", "--role", "governance", "--password-stdin", "--db", db, stdin=PW)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "riskcohort.cli", "serve", "--run",
                             str(run_root), "--port", str(port), "--db", db],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_port(port, 60)
        yield f"http://127.0.0.1:{port}", db
    finally:
        stop_server(proc)


@pytest.mark.browser
@pytest.mark.xdist_group("app-browser")
def test_review_journey_in_chromium(server, runs):
    from playwright.sync_api import sync_playwright

    base, db = server
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    pid = runs.current.scores.sort_values("rank").index[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
        page.goto(base + "/cohort")
        assert page.url.endswith("/login")
        browser_sign_in(page, "dee", PW)
        page.wait_for_selector("table#cohort")
        assert page.locator("table#cohort tbody tr").count() == 50
        page.screenshot(path=str(ARTIFACTS / "app-1-cohort.png"), full_page=True)
        page.click(f"a[href='/person/{pid}']")
        page.wait_for_selector("svg.waterfall")
        assert page.locator("#reasons-up li").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "app-2-person.png"), full_page=True)
        page.check("input[name=decision][value=refer]")
        page.select_option("select[name=refer_to]", "marac")
        page.fill("textarea[name=rationale]", "Escalation and a recent breach; refer to MARAC.")
        page.click("form.decision button[type=submit]")
        page.wait_for_selector("#decision-history >> text=refer to MARAC")
        page.screenshot(path=str(ARTIFACTS / "app-3-decision.png"), full_page=True)
        browser_switch_user(page, "gov", PW)
        page.goto(base + "/audit?action=decision")
        row = page.locator("table#audit tbody tr").first
        assert "dee" in row.inner_text() and pid in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "app-4-audit.png"), full_page=True)
        browser.close()
    assert outside == [], f"requests left the app: {outside}"
    assert "intact" in _cli("audit", "verify", "--db", db).stdout


@pytest.mark.xdist_group("app-browser")
def test_serve_with_two_workers_shares_sessions_and_audit(tmp_path, run_root, runs):
    import httpx

    from tests.app.apptest_helpers import csrf_of

    db = f"sqlite:///{tmp_path / 'app.db'}"
    _cli("users", "add", "dee", "--role", "dapst", "--password-stdin", "--db", db, stdin=PW)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "riskcohort.cli", "serve", "--run",
                             str(run_root), "--port", str(port), "--db", db, "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 90)
        pid = runs.current.scores.sort_values("rank").index[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
            token = csrf_of(c.get("/login").text)
            r = c.post("/login", data={"username": "dee", "password": PW, "csrf": token})
            assert r.status_code == 303
            # several requests: whichever worker answers, the session is the same
            for _ in range(6):
                assert c.get(f"/person/{pid}").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    out = _cli("audit", "verify", "--db", db).stdout
    assert "intact: 8 rows" in out  # user_add, login, 6 person views
