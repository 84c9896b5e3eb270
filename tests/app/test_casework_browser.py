"""Casework round trip in real headless Chromium (issue 19.3 / 17.2): adopt a person, create a
plan, add two tactics, record a review, see the overdue list, export the interventions.
Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.app.test_browser import ARTIFACTS, CHROMIUM_ARGS, PW, _cli, server  # noqa: F401


@pytest.mark.browser
@pytest.mark.xdist_group("app-browser")
def test_casework_round_trip_in_chromium(server, runs, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, db = server
    ARTIFACTS.mkdir(exist_ok=True)
    pid = runs.current.scores.sort_values("rank").index[1]
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", "dee")
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.goto(f"{base}/person/{pid}")
        page.check("input[name=decision][value=adopt]")
        page.fill("textarea[name=rationale]", "Escalating; the team will manage him.")
        page.click("form.decision button[type=submit]")
        page.wait_for_selector("#decision-history")
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
        page.screenshot(path=str(ARTIFACTS / "casework-1-plan.png"), full_page=True)
        page.goto(base + "/plans/overdue")
        assert pid in page.locator("table#overdue").inner_text()
        page.screenshot(path=str(ARTIFACTS / "casework-2-overdue.png"), full_page=True)
        page.click(f"table#overdue a[href='/person/{pid}/plan']")
        page.fill("#review textarea[name=progress]", "DVPO granted; checks carried out weekly.")
        page.check("#review input[name=outcome][value=continue]")
        page.click("#review button[type=submit]")
        page.wait_for_selector("#confirm >> text=Review recorded.")
        page.screenshot(path=str(ARTIFACTS / "casework-3-review.png"), full_page=True)
        page.goto(base + "/plans/overdue")
        assert pid not in page.locator("table#overdue").inner_text()
        browser.close()
    out = tmp_path / "interventions.csv"
    _cli("interventions", "export", "--db", db, "--out", str(out))
    got = pd.read_csv(out)
    assert sorted(got["kind"]) == ["dapst_managed", "dvpo", "other"]
    assert set(got["person_id"]) == {pid}
    assert "intact" in _cli("audit", "verify", "--db", db).stdout
