"""Casework (issue 19.3, 17.2): plans, tactics, reviews, overdue list, interventions export.

Run on SQLite and a real PostgreSQL (``db_url``); every write must be sealed in the audit chain.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from riskcohort.app import audit
from riskcohort.app.db import open_db
from riskcohort.app.interventions_export import export, interventions
from riskcohort.app.plans import TACTIC_KIND, TACTICS, plans, tactics
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, csrf_of, login

TODAY = dt.date.today()


def _client(app, name):
    c = TestClient(app, client=("testclient", 50000))
    assert login(c, name).status_code == 303
    c.csrf = csrf_of(c.get("/cohort").text)
    return c


@pytest.fixture
def db_engine(db_url):
    eng = open_db(db_url)
    for name, role in (("dee", "dapst"), ("ann", "analyst")):
        add_user(eng, name, role, PASSWORD)
    yield eng
    eng.dispose()


@pytest.fixture
def dee(runs, db_engine):
    app = create_app(runs, db_engine, Settings(use_explain=False))
    with _client(app, "dee") as c:
        c.app_ = app
        yield c


def _pid(runs, i=0):
    return runs.current.scores.sort_values("rank").index[i]


def _adopt(c, pid):
    r = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "adopt",
                                               "rationale": "high risk, recent strangulation"},
               follow_redirects=False)
    assert r.status_code == 303


def _plan(c, pid, review=None, team="North"):
    return c.post(f"/person/{pid}/plan", data={
        "csrf": c.csrf, "team": team, "owner": "dee",
        "next_review": review or (TODAY + dt.timedelta(days=14)).isoformat()},
        follow_redirects=False)


def _tactic(c, pid, kind, start=None, **kw):
    data = {"csrf": c.csrf, "kind": kind, "start_date": start or TODAY.isoformat(),
            "status": "active", "review_date": (TODAY + dt.timedelta(days=7)).isoformat(),
            "note": "agreed at the team meeting", **kw}
    return c.post(f"/person/{pid}/plan/tactic", data=data, follow_redirects=False)


def test_plan_round_trip_sealed_and_exported(dee, runs, db_engine, tmp_path):
    pid = _pid(runs)
    assert "can be created once" in dee.get(f"/person/{pid}/plan").text
    assert _plan(dee, pid).status_code == 400  # not adopted yet: refused
    _adopt(dee, pid)
    r = _plan(dee, pid)
    assert r.status_code == 303 and "done=plan" in r.headers["location"]
    assert "Plan created." in dee.get(r.headers["location"]).text
    assert _tactic(dee, pid, "dvds_right_to_know").status_code == 303
    assert _tactic(dee, pid, "daily_checks").status_code == 303
    page = dee.get(f"/person/{pid}/plan").text
    assert "DVDS disclosure: right to know" in page and "Daily checks" in page
    r = dee.post(f"/person/{pid}/plan/review", data={
        "csrf": dee.csrf, "progress": "disclosure made, victim safety planned",
        "outcome": "continue", "next_review": (TODAY + dt.timedelta(days=28)).isoformat()})
    assert r.status_code == 200 and "Review recorded." in r.text
    r = dee.post(f"/person/{pid}/plan/review", data={
        "csrf": dee.csrf, "progress": "remanded in custody on new charges",
        "outcome": "close", "exit_reason": "in_custody"})
    assert "plan closed" in r.text and "In custody" in r.text
    with db_engine.connect() as conn:
        plan = conn.execute(select(plans)).mappings().one()
        tacs = conn.execute(select(tactics)).mappings().all()
    assert plan["status"] == "closed" and plan["exit_reason"] == "in_custody"
    assert all(t["end_date"] == TODAY.isoformat() and t["status"] == "completed" for t in tacs)
    actions = [r["action"] for r in audit.query(db_engine, target=pid, limit=100)]
    for a in ("plan_create", "tactic_add", "plan_review", "plan_close", "tactic_update"):
        assert a in actions, a
    assert audit.verify(db_engine).ok

    frame = interventions(db_engine)
    assert list(frame.columns) == ["intervention_id", "person_id", "kind", "start_date",
                                   "end_date", "recorded_at", "end_recorded_at"]
    kinds = dict(zip(frame["intervention_id"], frame["kind"], strict=True))
    assert sorted(kinds.values()) == ["dapst_managed", "dvds_disclosure", "other"]
    managed = frame[frame["kind"] == "dapst_managed"].iloc[0]
    assert managed["end_date"] == TODAY.isoformat()  # ended by the plan's closure
    assert export(db_engine, tmp_path / "i.csv") == 3
    assert pd.read_csv(tmp_path / "i.csv").shape == (3, 7)
    assert audit.query(db_engine, action="interventions_export")

    with db_engine.begin() as conn:  # a tactic changed behind the app's back is detected
        conn.execute(update(tactics).where(tactics.c.id == tacs[0]["id"]).values(kind="voo"))
    v = audit.verify(db_engine)
    assert not v.ok and "tactics row" in v.reason


def test_refused_form_keeps_input_with_error_beside_field(dee, runs):
    pid = _pid(runs, 1)
    _adopt(dee, pid)
    _plan(dee, pid)
    r = _tactic(dee, pid, "spo", start="31/12/2026", note="typed by the officer 123")
    assert r.status_code == 400
    assert "typed by the officer 123" in r.text and 'id="err-start_date"' in r.text
    assert 'value="spo" selected' in r.text
    r = _tactic(dee, pid, "other", other_text="")
    assert r.status_code == 400 and 'id="err-other_text"' in r.text
    r = _tactic(dee, pid, "no_such_tactic")
    assert r.status_code == 400 and 'id="err-kind"' in r.text
    r = dee.post(f"/person/{pid}/plan/review", data={"csrf": dee.csrf, "progress": "short"})
    assert r.status_code == 400 and 'id="err-progress"' in r.text
    r = dee.post(f"/person/{pid}/plan/review", data={
        "csrf": dee.csrf, "progress": "long enough progress", "outcome": "close"})
    assert r.status_code == 400 and 'id="err-exit_reason"' in r.text
    assert _plan(dee, pid).status_code == 400  # one open plan per person


def test_overdue_list_per_team(dee, runs, db_engine):
    late, fine, other = _pid(runs, 2), _pid(runs, 3), _pid(runs, 4)
    for pid in (late, fine, other):
        _adopt(dee, pid)
    _plan(dee, late, review=(TODAY - dt.timedelta(days=3)).isoformat())
    _plan(dee, fine, review=(TODAY + dt.timedelta(days=3)).isoformat())
    _plan(dee, other, review=(TODAY - dt.timedelta(days=10)).isoformat(), team="South")
    page = dee.get("/plans/overdue").text
    assert late in page and other in page and fine not in page
    assert page.index(other) < page.index(late)  # most overdue first
    page = dee.get("/plans/overdue?team=North").text
    assert late in page and other not in page
    dee.post(f"/person/{late}/plan/review", data={
        "csrf": dee.csrf, "progress": "checked in with the victim",
        "outcome": "continue", "next_review": (TODAY + dt.timedelta(days=7)).isoformat()})
    assert late not in dee.get("/plans/overdue?team=North").text


def test_readers_cannot_write(runs, db_engine):
    app = create_app(runs, db_engine, Settings(use_explain=False))
    pid = _pid(runs)
    with _client(app, "ann") as c:
        assert c.get(f"/person/{pid}/plan").status_code == 200
        assert _plan(c, pid).status_code == 403
        assert _tactic(c, pid, "marac").status_code == 403


def test_every_tactic_maps_to_a_contract_kind():
    from riskcohort.contract.schema import INTERVENTION_KINDS

    assert set(TACTIC_KIND) == set(TACTICS)
    assert set(TACTIC_KIND.values()) <= set(INTERVENTION_KINDS)


def test_export_command_writes_parquet_and_refuses_bad_names(db_url, tmp_path, runs):
    from typer.testing import CliRunner

    from riskcohort.cli import app as cli

    eng = open_db(db_url)
    from riskcohort.app import decisions

    decisions.record(eng, person_id="P1", iteration="it", decision="refer", refer_to="mappa",
                     rationale="partner agency asked", user="dee", ip="")
    key = audit.default_key_file(str(eng.url.render_as_string(hide_password=False)))
    env = {"RISKCOHORT_AUDIT_KEY_FILE": str(key)} if key else {}
    if not key:
        pytest.skip("no default key file for this backend")
    r = CliRunner().invoke(cli, ["interventions", "export", "--db", db_url, "--out",
                                 str(tmp_path / "i.parquet")], env=env)
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(tmp_path / "i.parquet")
    assert got["kind"].tolist() == ["mappa"] and got["end_date"].isna().all()
    r = CliRunner().invoke(cli, ["interventions", "export", "--db", db_url, "--out",
                                 str(tmp_path / "i.txt")], env=env)
    assert r.exit_code == 2 and ".csv or .parquet" in r.output
    eng.dispose()


@pytest.mark.slow
def test_export_passes_the_contract_in_a_dataset_folder(tmp_path):
    from riskcohort.app import decisions
    from riskcohort.app import plans as plan_api
    from riskcohort.contract.loader import load_dataset
    from riskcohort.simulate.api import simulate

    data = tmp_path / "data"
    simulate(data, preset="tiny", seed=5, clean=True)
    for f in data.glob("interventions.*"):
        f.unlink()
    people = pd.read_parquet(next(data.glob("persons.*")))["person_id"].tolist()[:3]
    eng = open_db(f"sqlite:///{tmp_path / 'app.db'}")
    for i, pid in enumerate(people):
        decisions.record(eng, person_id=pid, iteration="it", decision="adopt", refer_to=None,
                         rationale="ten characters", user="dee", ip="")
        plan = plan_api.create_plan(eng, person_id=pid, team="T", owner="dee",
                                    next_review="2026-01-01", user="dee", ip="")
        for kind in ("dvpo", "matac"):
            plan_api.add_tactic(eng, plan_id=plan, kind=kind, other_text="",
                                start_date=f"2026-0{i + 1}-15", status="active",
                                review_date="2026-06-01", note="", user="dee", ip="")
        if i == 0:
            plan_api.review_plan(eng, plan_id=plan, progress="risk has come down a lot",
                                 outcome="close", next_review="", exit_reason="risk_reduced",
                                 user="dee", ip="")
    n = export(eng, data / "interventions.csv")
    assert n == 9
    ds = load_dataset(data)
    got = ds.tables["interventions"]
    assert len(got) == 9, "an exported row was quarantined"
    assert set(got["kind"]) == {"dapst_managed", "dvpo", "matac"}


def test_upgrade_from_0002_with_data_keeps_everything(db_url):
    from riskcohort.app import db as dbmod
    from riskcohort.app import decisions
    from tests.app.apptest_helpers import engine_at_revision

    eng = engine_at_revision(db_url, "0002")
    eng.dispose()
    # a 0002 database in use: keyed chain, a sealed decision, a user
    from riskcohort.app.db import migrate

    orig = dbmod.migrate
    dbmod.migrate = lambda e: None  # open at 0002 without upgrading
    try:
        eng = open_db(db_url)
        add_user(eng, "dee", "dapst", PASSWORD)
        decisions.record(eng, person_id="P9", iteration="it", decision="adopt", refer_to=None,
                         rationale="kept across the upgrade", user="dee", ip="")
        with eng.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() \
                == "0002"
            before = conn.execute(text("SELECT COUNT(*) FROM audit")).scalar_one()
    finally:
        dbmod.migrate = orig
    eng.dispose()
    eng = open_db(db_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() \
            == "0004"
        assert conn.execute(text("SELECT rationale FROM decisions")).scalar_one() \
            == "kept across the upgrade"
        assert conn.execute(text("SELECT name FROM users")).scalar_one() == "dee"
        assert conn.execute(text("SELECT COUNT(*) FROM audit")).scalar_one() == before
    assert audit.verify(eng).ok
    from riskcohort.app import plans as plan_api

    plan_api.create_plan(eng, person_id="P9", team="T", owner="dee", next_review="2026-01-01",
                         user="dee", ip="")
    assert audit.verify(eng).ok
    assert migrate  # the real migrate is what open_db used the second time
    eng.dispose()


def test_forbidden_page_keeps_navigation_and_pages_have_a_favicon(runs, db_engine):
    app = create_app(runs, db_engine, Settings(use_explain=False))
    with _client(app, "ann") as c:
        r = c.get("/audit")
        assert r.status_code == 403
        assert 'href="/cohort"' in r.text and "Log out" in r.text and 'href="/audit"' not in r.text
        assert 'rel="icon" href="/static/favicon.svg"' in r.text
        icon = c.get("/static/favicon.svg")
        assert icon.status_code == 200 and "svg" in icon.headers["content-type"]
