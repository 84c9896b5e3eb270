"""The decision audit in the governance pack (issue 19.6): ``riskcohort report RUN --db URL``
shows the same numbers as the review app's governance page, because both come from one function
(``app.decision_audit``) and the pack only renders the data it is given."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskcohort.app import decisions, manual, plans
from riskcohort.app.db import open_db
from riskcohort.app.rundata import load_runs
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from riskcohort.cli import app as cli_app
from tests.app.apptest_helpers import PASSWORD, login
from tests.governance.gov_fixture import write_run


def _section(html: str, start: str) -> str:
    i = html.index(start)
    return html[i:html.index("</section>", i) if "</section>" in html[i:] else None]


def _tables(html: str, prefix: str) -> dict[str, list[list[str]]]:
    """Tables whose id starts with ``prefix``: id suffix -> rows of cell texts (tags dropped)."""
    out = {}
    for tid, body in re.findall(rf'<table[^>]*id="{prefix}([\w-]+)"[^>]*>(.*?)</table>', html,
                                re.S):
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        out[tid] = [[" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)] for r in rows]
    return out


def _overrides(html: str, ul_id: str) -> list[str]:
    body = re.search(rf'<ul id="{ul_id}">(.*?)</ul>', html, re.S).group(1)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", li)).split())
            for li in re.findall(r"<li>(.*?)</li>", body, re.S)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("da-pack")
    run = write_run(root, n=300, k=50)
    runs = load_runs([run])
    it = runs.current
    db = f"sqlite:///{root / 'app.db'}"
    eng = open_db(db)
    add_user(eng, "gov", "governance", PASSWORD)
    ranked = list(it.scores.sort_values("rank").index)
    for i, pid in enumerate(ranked[:14] + ranked[-3:]):
        decision = "not_adopt" if i % 4 == 3 else ("refer" if i % 7 == 5 else "adopt")
        decisions.record(eng, person_id=pid, iteration=it.name, decision=decision,
                         refer_to="marac" if decision == "refer" else None,
                         rationale="ten characters or more", user="dee", ip="")
    plan = plans.create_plan(eng, person_id=ranked[0], team="North", owner="dee",
                             next_review="2026-01-01", user="dee", ip="")
    plans.add_tactic(eng, plan_id=plan, kind="dvpo", other_text="", start_date="2026-01-01",
                     status="active", review_date="2026-02-01", note="", user="dee", ip="")
    manual.add(eng, it, person_id=ranked[-10], reason="partner agency referral (MARAC)",
               user="dee", ip="")
    yield run, runs, eng, db
    eng.dispose()


def test_pack_and_governance_page_show_the_same_decision_audit(world, tmp_path):
    run, runs, eng, db = world
    with TestClient(create_app(runs, eng, Settings(use_explain=False)),
                    client=("testclient", 50000)) as c:
        assert login(c, "gov").status_code == 303
        page = c.get("/governance").text
    out = tmp_path / "pack.html"
    res = CliRunner().invoke(cli_app, ["report", str(run), "--out", str(out), "--db", db,
                                       "--n-boot", "20", "--persons", "0"])
    assert res.exit_code == 0, res.output
    pack = out.read_text(encoding="utf-8")
    pack = pack[pack.index('id="decision-audit"'):pack.index('id="indicators"')]
    on_page, in_pack = _tables(page, "da-"), _tables(pack, "pack-da-")
    assert set(on_page) == set(in_pack) == {"sex", "ethnicity", "age-band"}
    for by, rows in on_page.items():
        assert [r[2:] for r in rows] == [r[2:] for r in in_pack[by]], by  # every rate cell
        assert [r[1] for r in rows] == [r[1] for r in in_pack[by]], by  # people per group
        assert [r[0].replace("(small group)", "small group") for r in rows] == \
            [r[0] for r in in_pack[by]], by
    assert on_page["sex"][1][:2] == ["all", "18"]  # 17 decided + 1 manual addition (row 0: header)
    assert len(in_pack["sex"]) >= 4 and "%" in in_pack["sex"][1][2]
    assert any("small group" in r[0] for r in in_pack["ethnicity"])
    assert _overrides(page, "overrides") == _overrides(pack, "pack-overrides")
    assert "of 3 " not in _overrides(pack, "pack-overrides")[0]  # adoptions are counted, not ids
    assert "SQLite database app.db" in pack and "Not included" not in pack
    assert str(run.parent) not in pack  # no path of this machine in the pack


def test_pack_without_db_says_how_to_include_it(world, tmp_path):
    run = world[0]
    from riskcohort.governance import report

    html = report(run, out=tmp_path / "p.html", n_boot=20, n_persons=0).read_text()
    section = html[html.index('id="decision-audit"'):html.index('id="indicators"')]
    assert "Not included" in section and "--db DATABASE" in section
    assert 'href="#decision-audit">8. Decision audit' in html


def test_report_db_mistakes_are_one_line_user_errors(world, tmp_path):
    run = world[0]
    missing = CliRunner().invoke(cli_app, ["report", str(run), "--out", str(tmp_path / "a.html"),
                                           "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "no such database file" in missing.output
    assert not (tmp_path / "nope.db").exists()  # nothing created
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    empty = CliRunner().invoke(cli_app, ["report", str(run), "--out", str(tmp_path / "b.html"),
                                         "--db", str(tmp_path / "empty.db")])
    assert empty.exit_code == 2 and "no review-app tables" in empty.output
