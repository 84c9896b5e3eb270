"""Decision audit for the board (issue 19.6): rates by group with intervals, small groups marked,
overrides against the cohort."""

from __future__ import annotations

import pandas as pd
from fastapi.testclient import TestClient

from riskcohort.app import decisions, plans
from riskcohort.app.alerts import DATA_ENV
from riskcohort.app.decision_audit import decision_audit, wilson
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, login


def test_rates_by_group_and_overrides(runs, engine, tmp_path, monkeypatch):
    it = runs.current
    ranked = it.scores.sort_values("rank").index
    inside, outside = list(ranked[:12]), list(ranked[-2:])
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv(DATA_ENV, str(data))
    as_of = pd.Timestamp(it.as_of)
    people = inside + outside
    pd.DataFrame({"person_id": people,
                  "sex": ["male"] * 11 + ["female"] * 3,
                  "ethnicity": ["white"] * 14,
                  "birth_date": [as_of - pd.DateOffset(years=30)] * 14}
                 ).to_parquet(data / "persons.parquet")
    for pid in inside[:9] + outside[:1]:
        decisions.record(engine, person_id=pid, iteration=it.name, decision="adopt",
                         refer_to=None, rationale="ten characters", user="d", ip="")
    for pid in inside[9:12]:
        decisions.record(engine, person_id=pid, iteration=it.name, decision="not_adopt",
                         refer_to=None, rationale="ten characters", user="d", ip="")
    plan = plans.create_plan(engine, person_id=inside[0], team="T", owner="d",
                             next_review="2026-01-01", user="d", ip="")
    plans.add_tactic(engine, plan_id=plan, kind="dvpo", other_text="", start_date="2026-01-01",
                     status="active", review_date="2026-02-01", note="", user="d", ip="")
    out = decision_audit(engine, it)
    sex = {r["group"]: r for r in out["tables"]["sex"]}
    assert sex["all"]["n"] == 13 and sex["male"]["n"] == 11 and not sex["male"]["small"]
    assert sex["female"]["small"]  # 2 people
    adopted = sex["male"]["cells"][0]
    lo, hi = wilson(9, 11)
    assert adopted["k"] == 9 and adopted["text"] == f"{9 / 11:.0%} ({lo:.0%} to {hi:.0%})"
    assert sex["all"]["cells"][3]["k"] == 1  # one person given a tactic
    assert sex["all"]["cells"][4]["k"] == 0  # nobody added manually
    assert [r["group"] for r in out["tables"]["age band"]] == ["all", "25-34"]
    assert out["overrides"]["adopted_outside"].startswith("1 of 10")
    assert out["overrides"]["refused_inside"].startswith("3 of 12")

    add_user(engine, "gov", "governance", PASSWORD)
    app = create_app(runs, engine, Settings(use_explain=False))
    with TestClient(app, client=("testclient", 50000)) as c:
        assert login(c, "gov").status_code == 303
        page = c.get("/governance").text
    assert "Decision audit" in page and "(small group)" in page and "3 of 12" in page
