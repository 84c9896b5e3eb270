"""Victims at risk on the person page (issue 19.1): only what the records say, with their ids."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskcohort.app.alerts import DATA_ENV
from riskcohort.app.users import add_user
from riskcohort.app.victims import build
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, login


def _tables(pid: str, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    day = lambda n: as_of - pd.Timedelta(days=n)  # noqa: E731
    return {
        "persons": pd.DataFrame({"person_id": ["V1", "V2"],
                                 "birth_date": [as_of - pd.DateOffset(years=34, days=10),
                                                None]}),
        "relationships": pd.DataFrame({
            "relationship_id": ["R1", "R2"], "person_a_id": [pid, "V2"],
            "person_b_id": ["V1", pid], "kind": ["intimate", "family_parent_child"],
            "start_date": [day(2000), None], "end_date": [day(40), None]}),
        "incidents": pd.DataFrame({
            "incident_id": ["I1", "I2", "I3", "I4", "I5"],
            "occurred_at": [day(10), day(100), day(500), day(20), day(30)],
            "perpetrator_id": [pid, pid, pid, pid, "OTHER"],
            "victim_id": ["V1", "V1", "V1", "V3", "V1"], "relationship_id": [None] * 5,
            "offence": ["abh", "threats_to_kill", "common_assault", "harassment", "abh"],
            "children_present": [True, None, False, "true", True]}),
        "risk_assessments": pd.DataFrame({
            "assessment_id": ["A1", "A2"], "assessed_at": [day(100), day(10)],
            "victim_id": ["V1", "V1"], "perpetrator_id": [pid, pid], "tool": ["dash", "dash"],
            "grade": ["medium", "high"]}),
        "referrals": pd.DataFrame({"referral_id": ["F1"], "person_id": ["V1"],
                                   "role": ["victim"], "kind": ["marac"],
                                   "referred_at": [day(9)]}),
    }


def test_build_lists_victims_with_evidence():
    as_of = pd.Timestamp("2026-03-01")
    out = build(_tables("P1", as_of), "P1", as_of)
    by = {v["victim_id"]: v for v in out["victims"]}
    assert list(by) == ["V1", "V3", "V2"]  # most incidents in 12 months first
    v1 = by["V1"]
    assert v1["links"] == ["former partner"] and v1["separation"] == "2026-01-20"
    assert v1["incidents_12m"] == ["I1", "I2"] and v1["incident_ids"] == ["I1", "I2", "I3"]
    assert v1["assessment"] == {"tool": "DASH", "grade": "high", "date": "2026-02-19",
                                "id": "A2"}
    assert v1["marac"]["id"] == "F1" and v1["age"] == 34
    assert by["V2"]["links"] == ["current parent/child"] and by["V2"]["age"] is None
    assert by["V2"]["assessment"] is None and by["V2"]["incidents_12m"] == []
    assert by["V3"]["links"] == ["named as victim in an incident"]
    assert [c["incident_id"] for c in out["children"]] == ["I1", "I4"]  # not OTHER's I5


@pytest.fixture
def reader(runs, engine, tmp_path, monkeypatch):
    add_user(engine, "ann", "analyst", PASSWORD)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv(DATA_ENV, str(data))
    app = create_app(runs, engine, Settings(use_explain=False))
    c = TestClient(app, client=("testclient", 50000))
    assert login(c, "ann").status_code == 303
    c.data = data
    yield c
    c.close()


def test_person_page_shows_victims_first_screen(reader, runs):
    pid = runs.current.scores.sort_values("rank").index[0]
    for name, frame in _tables(pid, pd.Timestamp(runs.current.as_of)).items():
        if name == "incidents":  # one table as CSV (text booleans), the others parquet
            frame.to_csv(reader.data / "incidents.csv", index=False)
        else:
            frame.to_parquet(reader.data / f"{name}.parquet")
    page = reader.get(f"/person/{pid}").text
    assert page.index('id="victims"') < page.index("Why: reason codes")
    section = page[page.index('id="victims"'):page.index("Why: reason codes")]
    assert "former partner" in section and "DASH high" in section and "(A2)" in section
    assert "referred" in section and "(F1)" in section and "relationships R1" in section
    assert "Children present in 2 incidents" in section and "I4" in section
    assert f'href="/person/{pid}/plan"' in section


def test_person_page_without_data_says_so(reader, runs, monkeypatch):
    monkeypatch.delenv(DATA_ENV)
    pid = runs.current.scores.sort_values("rank").index[0]
    assert "victims cannot be listed" in reader.get(f"/person/{pid}").text


def test_a_table_without_the_needed_columns_reads_as_not_recorded():
    as_of = pd.Timestamp("2026-03-01")
    t = _tables("P1", as_of)
    t["risk_assessments"] = t["risk_assessments"].drop(columns=["victim_id"])
    v1 = next(v for v in build(t, "P1", as_of)["victims"] if v["victim_id"] == "V1")
    assert v1["assessment"] is None and v1["incidents_12m"] == ["I1", "I2"]
