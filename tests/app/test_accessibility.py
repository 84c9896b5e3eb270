"""Accessibility (issue 19.7): axe-core, in real headless Chromium, on the pages a DAPST officer and
a governance reviewer use - cohort, person, casework (plan, overdue reviews) and governance - with
a refused form on screen too. Fails on any serious or critical violation.

axe-core comes inside the ``axe-playwright-python`` wheel (``axe.min.js``, injected into the page
by Playwright): nothing is fetched at run time, and the browser is Debian's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.app.apptest_helpers import browser_sign_in, browser_switch_user
from tests.app.test_browser import ARTIFACTS, CHROMIUM_ARGS, PW, server  # noqa: F401

BLOCKING = {"serious", "critical"}


def _axe_problems(axe, page, name: str) -> list[str]:
    """Serious/critical violations on the page as lines (rule, impact, nodes, first target)."""
    results = axe.run(page).response
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results["violations"], indent=1))
    return [f"{name}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes, e.g. "
            f"{v['nodes'][0]['target']}): {v['help']}"
            for v in results["violations"] if v["impact"] in BLOCKING]


@pytest.mark.browser
@pytest.mark.xdist_group("app-browser")
def test_pages_have_no_serious_accessibility_violations(server, runs):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    base, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    axe = Axe()
    pid = runs.current.scores.sort_values("rank").index[4]
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    problems: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
        page.goto(base + "/login")
        problems += _axe_problems(axe, page, "login")
        browser_sign_in(page, "dee", PW)
        page.wait_for_selector("table#cohort")
        problems += _axe_problems(axe, page, "cohort")
        page.goto(f"{base}/person/{pid}")
        page.check("input[name=decision][value=refer]")  # refused: no referral target
        page.fill("textarea[name=rationale]", "Escalating; the team will manage him.")
        page.click("form.decision button[type=submit]")
        page.wait_for_selector("#err-refer_to")
        problems += _axe_problems(axe, page, "person-refused-form")
        page.check("input[name=decision][value=adopt]")
        page.click("form.decision button[type=submit]")
        page.wait_for_selector("#confirm")
        problems += _axe_problems(axe, page, "person")
        page.goto(f"{base}/person/{pid}/plan")
        page.fill("#new-plan input[name=next_review]", yesterday)
        page.click("#new-plan button[type=submit]")
        page.wait_for_selector("#confirm")
        problems += _axe_problems(axe, page, "plan")
        page.goto(base + "/plans/overdue")
        problems += _axe_problems(axe, page, "overdue")
        browser_switch_user(page, "gov", PW)
        page.goto(base + "/governance")
        page.wait_for_selector("#decision-audit")
        problems += _axe_problems(axe, page, "governance")
        page.goto(base + "/model")
        problems += _axe_problems(axe, page, "model")
        page.goto(base + "/audit")
        problems += _axe_problems(axe, page, "audit")
        browser.close()
    assert outside == [], f"requests left the app: {outside}"
    assert not problems, "\n".join(problems)
