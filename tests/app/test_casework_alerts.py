"""Alerts for managed people (issue 19.4): computed from the data folder the app is given,
newest first on the officer's landing page, gone once acknowledged (sealed) or reviewed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskcohort.app import audit
from riskcohort.app.alerts import DATA_ENV
from riskcohort.app.db import open_db
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, csrf_of, login

NOW = pd.Timestamp.now().floor("s")  # contract times are local, without a zone


def _ts(minutes: int) -> str:
    return (NOW + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


def _write(data, pid, extra_incident=False):
    inc = [("I-old", _ts(-600), pid, "common_assault"), ("I-new", _ts(5), pid, "harassment"),
           ("I-brk", _ts(10), pid, "breach_of_order"), ("I-else", _ts(5), "P999999", "abh")]
    if extra_incident:
        inc.append(("I-later", _ts(30), pid, "strangulation"))
    pd.DataFrame(inc, columns=["incident_id", "recorded_at", "perpetrator_id", "offence"]
                 ).to_csv(data / "incidents.csv", index=False)
    pd.DataFrame([("A1", _ts(15), pid, "dash", "high")],
                 columns=["assessment_id", "assessed_at", "perpetrator_id", "tool", "grade"]
                 ).to_parquet(data / "risk_assessments.parquet")
    pd.DataFrame([("R1", pid, "V1", "intimate", (NOW + pd.Timedelta(minutes=1)).date().isoformat(),
                   _ts(20))], columns=["relationship_id", "person_a_id", "person_b_id", "kind",
                                       "end_date", "end_recorded_at"]
                 ).to_csv(data / "relationships.csv", index=False)


@pytest.fixture
def officer(runs, db_url, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv(DATA_ENV, str(data))
    eng = open_db(db_url)
    add_user(eng, "dee", "dapst", PASSWORD)
    app = create_app(runs, eng, Settings(use_explain=False))
    c = TestClient(app, client=("testclient", 50000))
    assert login(c, "dee").status_code == 303
    c.csrf = csrf_of(c.get("/cohort").text)
    c.data, c.eng = data, eng
    yield c
    c.close()
    eng.dispose()


def test_alerts_show_newest_first_until_acknowledged_or_reviewed(officer, runs):
    c = officer
    pid = runs.current.scores.sort_values("rank").index[0]
    c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "adopt",
                                           "rationale": "managed by the team from today"})
    c.post(f"/person/{pid}/plan", data={"csrf": c.csrf, "team": "North", "owner": "dee",
                                        "next_review": dt.date.today().isoformat()})
    assert "No new alert" in c.get("/cohort").text
    _write(c.data, pid)
    page = c.get("/cohort").text
    section = page[page.index('id="alert-list"'):page.index("</table>", page.index("alert-list"))]
    order = [section.index(s) for s in ("relationships R1", "risk_assessments A1",
                                        "incidents I-brk", "incidents I-new")]
    assert order == sorted(order), "newest first"
    assert "incidents I-old" not in section and "P999999" not in section
    assert "Order breach" in section and "DASH risk assessment graded high" in section
    assert "Separation from V1" in section and "4; 4 on your plans" in page
    key = f"{pid}|incidents|I-new|new incident"
    r = c.post("/alerts/ack", data={"csrf": c.csrf, "key": key})
    assert r.status_code == 200 and "Alert acknowledged." in r.text
    assert "incidents I-new" not in r.text and "incidents I-brk" in r.text
    assert c.post("/alerts/ack", data={"csrf": c.csrf, "key": key}).status_code == 400
    acks = audit.query(c.eng, action="alert_ack")
    assert len(acks) == 1 and acks[0]["target"] == pid
    assert audit.verify(c.eng).ok
    _write(c.data, pid, extra_incident=True)  # a data refresh: the file is re-read
    assert "incidents I-later" in c.get("/cohort").text
    import time

    time.sleep(1.5)  # a record between the plan's start and its review
    mid = pd.Timestamp.now().floor("s").strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1.5)
    frame = pd.read_csv(c.data / "incidents.csv")
    frame.loc[len(frame)] = ["I-mid", mid, pid, "criminal_damage"]
    frame.to_csv(c.data / "incidents.csv", index=False)
    assert "incidents I-mid" in c.get("/cohort").text
    c.post(f"/person/{pid}/plan/review", data={
        "csrf": c.csrf, "progress": "all of it discussed at the review", "outcome": "continue",
        "next_review": (dt.date.today() + dt.timedelta(days=14)).isoformat()})
    page = c.get("/cohort").text
    assert "incidents I-mid" not in page  # recorded before the review: seen there
    assert "incidents I-later" in page  # recorded after it (in the future of the review)


def test_no_data_folder_says_so(officer, monkeypatch):
    monkeypatch.delenv(DATA_ENV)
    assert "No data folder to compute alerts from" in officer.get("/cohort").text
