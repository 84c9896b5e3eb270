"""Screenshots of the review app's pages in Debian's headless Chromium (Playwright, no download).

Why a script: the app's pages sit behind a login, which ``chromium --screenshot URL`` cannot
pass. Start the app (``riskcohort serve``), add a DAPST user and an analyst, then:

    APP_PASSWORD=... .venv/bin/python scripts/app_screenshots.py http://127.0.0.1:8000 OUT_DIR \
        DAPST_USER ANALYST_USER [PERSON_ID ...]

writes OUT_DIR/cohort.png, custody.png (the custody filter), person-<id>.png and model.png at
1280 x 1600, the window the README's checks use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main(base: str, out: str, dapst: str, analyst: str, *pids: str) -> None:
    from playwright.sync_api import sync_playwright

    Path(out).mkdir(parents=True, exist_ok=True)
    password = os.environ["APP_PASSWORD"]
    pages = {dapst: [("cohort", "/cohort"), ("custody", "/cohort?scope=all&custody=held"),
                     *[(f"person-{pid}", f"/person/{pid}") for pid in pids]],
             analyst: [("model", "/model")]}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for user, shots in pages.items():
            page = browser.new_context(viewport={"width": 1280, "height": 1600}).new_page()
            page.goto(base + "/login")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            for name, path in shots:
                page.goto(base + path)
                page.screenshot(path=str(Path(out) / f"{name}.png"))
        browser.close()


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
