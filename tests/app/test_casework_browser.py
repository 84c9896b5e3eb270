"""Casework round trip in real headless Chromium (issue 19.3 / 19.4 / 17.2), on SQLite and on
PostgreSQL: adopt a person, create a plan with two tactics, see the overdue list, record a
review, see an alert after a data refresh (the extract the app is given is replaced) and
acknowledge it, export the interventions. ``riskcohort serve`` runs in a subprocess with
``--data``; screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.app.apptest_helpers import browser_sign_in, free_port, stop_server, wait_port
from tests.app.conftest import BACKENDS, new_pg_db
from tests.app.test_browser import ARTIFACTS, CHROMIUM_ARGS, PW, _cli


@pytest.fixture(params=BACKENDS)
def casework_server(request, tmp_path, run_root, monkeypatch):
    """``riskcohort serve --data DIR`` on a fresh database of each backend: (url, db, data)."""
    monkeypatch.setenv("RISKCOHORT_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    if request.param == "sqlite":
        db = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        db = new_pg_db(request.getfixturevalue("pg_server"))
    data = tmp_path / "data"
    data.mkdir()
    _cli("users", "add", "dee", "--role", "dapst", "--password-stdin", "--db", db, stdin=PW)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "riskcohort.cli", "serve", "--run",
                             str(run_root), "--port", str(port), "--db", db, "--data", str(data),
                             "--timezone", "Europe/London"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_port(port, 60)
        yield f"http://127.0.0.1:{port}", db, data, request.param
    finally:
        stop_server(proc)


def _refresh_data(data, pid: str) -> None:
    """A new extract: one incident by ``pid`` recorded a minute from now (contract times are
    local, without a zone) and one older than the plan."""
    now = pd.Timestamp.now().floor("s")
    pd.DataFrame([("I-old", (now - pd.Timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S"), pid,
                   "common_assault"),
                  ("I-new", (now + pd.Timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"), pid,
                   "harassment")],
                 columns=["incident_id", "recorded_at", "perpetrator_id", "offence"]
                 ).to_csv(data / "incidents.csv", index=False)


@pytest.mark.browser
@pytest.mark.xdist_group("app-browser")
def test_casework_round_trip_in_chromium(casework_server, runs, tmp_path):
    from playwright.sync_api import sync_playwright

    base, db, data, backend = casework_server
    ARTIFACTS.mkdir(exist_ok=True)
    pid = runs.current.scores.sort_values("rank").index[1]
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    shot = lambda page, name: page.screenshot(  # noqa: E731
        path=str(ARTIFACTS / f"casework-{backend}-{name}.png"), full_page=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(base + "/login")
        browser_sign_in(page, "dee", PW)
        page.wait_for_selector("#alerts >> text=No new alert")
        page.goto(f"{base}/person/{pid}")
        assert page.locator("form.decision").bounding_box()["y"] < 900  # on the first screen
        page.check("input[name=decision][value=adopt]")
        page.fill("textarea[name=rationale]", "Escalating; the team will manage him.")
        page.click("form.decision button[type=submit]")
        page.wait_for_selector("#confirm >> text=Decision recorded.")
        shot(page, "0-decision")
        page.goto(f"{base}/person/{pid}/plan")
        page.fill("#new-plan input[name=team]", "North DAPST")
        page.fill("#new-plan input[name=next_review]", yesterday)  # already due: overdue list
        page.click("#new-plan button[type=submit]")
        page.wait_for_selector("#confirm >> text=Plan created.")
        for kind, note in (("dvpo", "apply at the next court sitting"),
                           ("weekly_checks", "Tuesday visits")):
            page.select_option("#new-tactic select[name=kind]", kind)
            page.fill("#new-tactic textarea[name=note]", note)
            page.click("#new-tactic button[type=submit]")
            page.wait_for_selector("#confirm >> text=Tactic added.")
        assert page.locator("#tactics ~ table tbody tr").count() == 2
        shot(page, "1-plan")
        page.goto(base + "/plans/overdue")
        assert pid in page.locator("table#overdue").inner_text()
        shot(page, "2-overdue")
        page.click(f"table#overdue a[href='/person/{pid}/plan']")
        page.fill("#review textarea[name=progress]", "DVPO granted; checks carried out weekly.")
        page.check("#review input[name=outcome][value=continue]")
        page.click("#review button[type=submit]")
        page.wait_for_selector("#confirm >> text=Review recorded.")
        shot(page, "3-review")
        page.goto(base + "/plans/overdue")
        assert pid not in page.locator("table#overdue").inner_text()
        _refresh_data(data, pid)  # the data refresh: no restart
        page.goto(base + "/cohort")
        alerts = page.locator("table#alert-list").inner_text()
        assert "incidents I-new" in alerts and "I-old" not in alerts  # only after the review
        assert page.locator("table#alert-list time").count() >= 1  # readable local time
        shot(page, "4-alert")
        page.click("table#alert-list button")
        page.wait_for_selector("text=Alert acknowledged.")
        assert page.locator("table#alert-list").count() == 0
        browser.close()
    out = tmp_path / "interventions.csv"
    _cli("interventions", "export", "--db", db, "--out", str(out))
    got = pd.read_csv(out)
    assert sorted(got["kind"]) == ["dapst_managed", "dvpo", "other"]
    assert set(got["person_id"]) == {pid}
    assert "intact" in _cli("audit", "verify", "--db", db).stdout
