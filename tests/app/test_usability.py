"""Usability of the review app (issue 19.7): the decision form on the person page's first
screen, a refused decision keeps what was typed with the error beside its field, a confirmation
after recording, and every timestamp local and readable with the stored value in
``<time datetime>``."""

from __future__ import annotations

import re

import pytest

from riskcohort.app import timefmt
from riskcohort.errors import UserError

RAW_ISO = re.compile(r">[^<]*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[^<]*<")  # an ISO time as visible text


def test_decision_form_comes_before_the_long_parts_of_the_page(client_for, runs):
    c = client_for("dapst")
    pid = runs.current.scores.sort_values("rank").index[0]
    html = c.get(f"/person/{pid}").text
    form = html.index('class="decision"')
    for later in ('id="victims"', "Why: reason codes", 'id="indicators"', 'id="history"'):
        assert form < html.index(later), later
    assert html.index('id="score"') < form  # the estimate is read first
    # what the officer sees above the form is short: header, notice, four cards
    assert len(re.sub(r"<[^>]+>", "", html[:form]).split()) < 150


def test_refused_decision_keeps_what_was_typed_then_confirms(client_for, runs, engine):
    c = client_for("dapst")
    pid = runs.current.scores.sort_values("rank").index[2]
    typed = "Partner's new <b>report</b>; refer"
    r = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "refer",
                                                "refer_to": "", "rationale": typed})
    assert r.status_code == 400
    assert "Partner&#39;s new &lt;b&gt;report&lt;/b&gt;; refer</textarea>" in r.text
    assert 'value="refer" required checked' in r.text
    err = r.text.index('id="err-refer_to"')
    assert r.text.index('name="refer_to"') < err < r.text.index('name="rationale"')
    assert 'aria-describedby="err-refer_to"' in r.text
    short = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "adopt",
                                                    "rationale": "too short"})
    assert short.status_code == 400 and "(you typed 9)" in short.text
    assert 'id="err-rationale"' in short.text and 'value="adopt" required checked' in short.text
    ok = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "refer",
                                                 "refer_to": "marac", "rationale": typed})
    assert ok.status_code == 200 and 'id="confirm"' in ok.text  # after the redirect
    assert "Decision recorded." in ok.text
    assert "Latest: <strong>referred</strong> (MARAC)" in ok.text
    assert "Decision recorded." not in c.get(f"/person/{pid}").text  # only right after it


def test_timestamps_are_local_and_readable(client_for, runs, monkeypatch):
    monkeypatch.setenv(timefmt.TZ_ENV, "America/New_York")
    c = client_for("dapst")
    pid = runs.current.scores.sort_values("rank").index[3]
    c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "adopt",
                                            "rationale": "Escalation in the last month."})
    import datetime as dt

    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert c.post(f"/person/{pid}/plan", data={"csrf": c.csrf, "team": "North", "owner": "dee",
                                               "next_review": yesterday}).status_code == 200
    html = c.get(f"/person/{pid}").text
    latest = html[html.index('id="latest-decision"'):]
    tags = re.findall(r'<time datetime="([^"]+)"[^>]*>([^<]+)</time>', latest)
    assert tags, "decision times are <time> elements"
    stored, shown = tags[0]
    assert stored.endswith("+00:00")  # the exact stored UTC value
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromisoformat(stored).astimezone(ZoneInfo("America/New_York"))
    assert shown == f"{local.day} {local:%b %Y, %H:%M}"
    assert "America/New_York" in html
    gov = client_for("governance")
    for page in (f"/person/{pid}", f"/person/{pid}/plan", "/plans/overdue", "/audit", "/model"):
        text = (c if page.startswith("/person") or page.startswith("/plans") else gov
                ).get(page).text
        body = re.sub(r"<pre.*?</pre>", "", text[text.index("<main>"):], flags=re.S)  # run.json
        bad = [m for m in RAW_ISO.findall(body) if "<time" not in m]
        assert not bad, (page, bad[:3])
        if page.endswith("/plan"):
            assert "Opened <time datetime=" in body


def test_time_helpers():
    assert timefmt.readable("2026-12-01T14:05:09.5Z") in {
        "1 Dec 2026, 14:05", timefmt.readable(timefmt.local("2026-12-01T14:05:09.5Z"))}
    assert str(timefmt.time_tag("")) == "" and str(timefmt.time_tag(None, "never")) == "never"
    assert timefmt.check_zone("Europe/London") == "Europe/London"
    with pytest.raises(UserError, match="IANA"):
        timefmt.check_zone("Mars/Olympus")
