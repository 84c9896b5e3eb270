"""Issue 14 on the app's pages: custody in plain sight, ties shown as ties, bands with a legend,
the waterfall ending at the score card, what-if rows that say "no change"."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

import riskcohort.app as app_module
from riskcohort.app.views_cohort import band_legend, custody_frame, rank_text


def _ids(html: str) -> list[str]:
    return re.findall(r'<a href="/person/([^"]+)">', html)


def test_custody_column_and_filter(client_for, runs):
    c = client_for("dapst")
    cur = runs.current.scores
    held = set(cur.index[cur["in_custody"].astype(bool)])
    got = _ids(c.get("/cohort", params={"scope": "all", "custody": "held"}).text)
    assert got and set(got) <= held and len(got) == min(50, len(held))
    free = _ids(c.get("/cohort", params={"scope": "all", "custody": "free"}).text)
    assert free and not set(free) & held
    html = c.get("/cohort", params={"scope": "all", "custody": "held"}).text
    assert html.count(">in custody</td>") == len(got)
    released = cur[cur["days_since_custody_release"].notna() & ~cur["in_custody"].astype(bool)]
    pid = released.index[0]
    day = (pd.Timestamp(runs.current.as_of)
           - pd.Timedelta(days=int(released.loc[pid, "days_since_custody_release"]))).date()
    frame = custody_frame(runs.current, [pid])
    assert frame.loc[pid, "custody"] == f"released {day}"
    page = c.get("/cohort", params={"scope": "all", "q": pid}).text
    assert f"released {day}" in page


def test_person_page_says_custody_first(client_for, runs):
    c = client_for("dapst")
    cur = runs.current.scores
    pid = cur.index[cur["in_custody"].astype(bool)][0]
    html = c.get(f"/person/{pid}").text
    first = html[:html.index("Why: reason codes")]
    assert "In custody on the scoring date" in first and 'id="custody-status">in custody' in first
    other = cur.index[~cur["in_custody"].astype(bool) & cur["days_since_custody_release"].isna()][0]
    assert "not in custody" in c.get(f"/person/{other}").text


def test_ties_are_marked(client_for, runs):
    assert rank_text(12, True) == "=12" and rank_text(12, "False") == "12"
    it = runs.current
    pid = it.scores.sort_values("rank").index[0]
    it.scores.loc[pid, "tied"] = True  # the fixture has no ties; mark one (restored below)
    try:
        c = client_for("dapst")
        rank = int(it.scores.loc[pid, "rank"])
        assert f">={rank} <small>" in c.get(f"/person/{pid}").text
        assert "A tie:" in c.get(f"/person/{pid}").text
    finally:
        it.scores.loc[pid, "tied"] = False


def test_bands_have_distinct_classes_and_a_legend(client_for, runs):
    it = runs.current
    legend = band_legend(it)
    assert [b["name"] for b in legend] == it.bands
    classes = [b["css"] for b in legend]
    assert len(set(classes)) == len(classes)
    css = (Path(app_module.__file__).parent / "static" / "app.css").read_text(encoding="utf-8")
    for i in range(1, len(legend)):
        assert f".band-r{i}" in css
    for name in ("low", "moderate", "elevated", "high"):  # the configured defaults
        assert f".band-{name}" in css
    html = client_for("dapst").get("/cohort").text
    assert 'id="band-legend"' in html
    for b in legend:
        assert f'<span class="{b["css"]}">{b["name"]}</span>' in html


def test_model_page_says_which_model_this_is(client_for, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RISKCOHORT_WORK", raising=False)
    from riskcohort.app import standing

    standing._cache.clear()
    html = client_for("analyst").get("/model").text
    assert 'id="standing"' in html and "Registry: not registered" in html
    assert "no promotion decision recorded" in html and "No sign-off recorded" in html
    standing._cache.clear()
    monkeypatch.setattr(standing, "model_standing", lambda it: {
        "text": "version 2: champion", "serving_champion": False,
        "champion": {"version": "1", "name": "iteration-1", "this": False},
        "challenger": {"version": "2", "name": "iteration-2", "this": True},
        "promotion": {"decision": "keep the champion", "reasons": ["calibration slope 1.46"],
                      "dry_run": False}, "approval": None})
    html = client_for("analyst").get("/model").text
    assert "This is not the champion." in html and "this run is the challenger" in html
    assert "keep the champion" in html and "calibration slope 1.46" in html
