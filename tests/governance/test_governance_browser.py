"""The pack as a person sees it: headless Debian Chromium renders it offline; it is not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskcohort.governance import report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
def test_report_screenshot_is_not_blank_and_loads_nothing_external(run_dir, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    html = report(run_dir, out=tmp_path / "report.html", n_boot=30)
    requests: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "governance-report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.alt)")
            headings = page.evaluate("Array.from(document.querySelectorAll('h2')).length")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not broken, f"images that did not render: {broken}"
    assert headings >= 10
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape[0] > 3000  # the whole pack, not one screen
    assert pixels.std() > 20  # not blank: text, tables and charts
    top = pixels[:900]
    assert (top < 100).mean() > 0.01  # dark text on the first screen
