"""Cohort, person, decision, export, model, governance and audit pages on the fixture run."""

from __future__ import annotations

import csv
import io
import re

from riskcohort.app import decisions
from riskcohort.app.audit import query, verify
from riskcohort.app.views_cohort import _safe
from riskcohort.display import percent


def _ids(html: str) -> list[str]:
    return re.findall(r'<a href="/person/([^"]+)">', html)


def test_cohort_lists_current_cohort_in_rank_order(client_for, runs):
    c = client_for("dapst")
    html = c.get("/cohort").text
    cur = runs.current.scores
    expected = list(cur[cur["in_cohort"]].sort_values("rank").index[:50])
    assert _ids(html) == expected
    top = cur.loc[expected[0]]
    assert percent(top["score"]) in html and top["reason1"] in html
    assert "iteration " + runs.current.name in html


def test_cohort_filters_and_sorting(client_for, runs):
    c = client_for("analyst")
    cur = runs.current.scores
    band = runs.current.bands[1]
    got = _ids(c.get("/cohort", params={"band": band, "scope": "all"}).text)
    assert got and set(got) == set(cur[cur["band"] == band].sort_values("rank").index[:50])
    got = _ids(c.get("/cohort", params={"sort": "score", "order": "asc"}).text)
    scores = [cur.loc[p, "score"] for p in got]
    assert scores == sorted(scores)
    pid = cur.sort_values("rank").index[3]
    assert _ids(c.get("/cohort", params={"q": pid[-4:].lower()}).text) == [pid]
    page2 = _ids(c.get("/cohort", params={"scope": "all", "page": 2}).text)
    assert page2 == list(cur.sort_values("rank").index[50:100])


def test_change_column_against_previous_iteration(runs):
    cur, prev = runs.current.scores, runs.iterations[0].scores
    pid = cur.index[0]
    expect = ("new" if cur.loc[pid, "in_cohort"] and not prev.loc[pid, "in_cohort"] else
              "up" if cur.loc[pid, "rank"] < prev.loc[pid, "rank"] else
              "down" if cur.loc[pid, "rank"] > prev.loc[pid, "rank"] else "same")
    assert cur.loc[pid, "change"] == expect
    assert set(cur["change"]) <= {"new", "up", "down", "same"}
    assert (runs.iterations[0].scores["change"] == "").all()
    moved = abs(int(prev.loc[pid, "rank"]) - int(cur.loc[pid, "rank"]))
    assert cur.loc[pid, "moved"] == moved


def test_person_page_shows_scores_reasons_chart_history_evidence(client_for, runs, engine):
    c = client_for("dapst")
    it = runs.current
    pid = it.scores.sort_values("rank").index[0]
    html = c.get(f"/person/{pid}").text
    assert query(engine, action="view_person", target=pid)[0]["actor"] == "dapst"
    score = it.scores.loc[pid, "score"]
    assert f"score {score:.3g} in scores.csv" in html and it.scores.loc[pid, "band"] in html
    assert f'id="score">{percent(score)}<' in html
    assert "band boundary" in html
    svg = re.search(r"<svg[^>]*class=\"waterfall\".*?</svg>", html, re.S).group(0)
    contrib = it.person_contributions(pid)["contribution"]
    assert f"Risk estimate {percent(score)}<" in svg  # the waterfall ends at the score card
    assert f"Base estimate {percent(it.base_probability)}<" in svg
    assert svg.count("<rect") == min(len(contrib), 10) + (len(contrib) > 10)
    assert "log-odds" not in html and "f(x)" not in html
    assert len(re.findall(r"<tr><td>" + re.escape(it.name), html)) >= 1  # history row
    assert html.count("<tr><td>2026-") >= len(runs.history(pid))
    ev = it.evidence[it.evidence["person_id"] == pid]
    for ind, n in ev.groupby("indicator").size().items():
        assert f"{n} record{'s' if n != 1 else ''}</summary>" in html, ind
    assert ev["record_id"].iloc[0] in html
    assert 'name="decision"' in html  # dapst may decide


def test_decision_recorded_shown_and_audited(client_for, runs, engine):
    c = client_for("dapst")
    pid = runs.current.scores.sort_values("rank").index[1]
    bad = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "refer",
                                                  "rationale": "Pattern of escalation."})
    assert bad.status_code == 400 and "MARAC" in bad.text  # referral target missing
    bad = c.post(f"/person/{pid}/decision", data={"csrf": c.csrf, "decision": "adopt",
                                                  "rationale": "   "})
    assert bad.status_code == 400
    r = c.post(f"/person/{pid}/decision", data={
        "csrf": c.csrf, "decision": "refer", "refer_to": "mappa",
        "rationale": "Escalating <b>pattern</b>; refer."}, follow_redirects=False)
    assert r.status_code == 303
    html = c.get(f"/person/{pid}").text
    assert "Escalating &lt;b&gt;pattern&lt;/b&gt;; refer." in html and "MAPPA" in html
    assert decisions.status_map(engine, runs.current.name) == {pid: "referred"}
    assert _ids(c.get("/cohort", params={"status": "referred"}).text) == [pid]
    row = query(engine, action="decision")[0]
    assert row["actor"] == "dapst" and row["target"] == pid and "mappa" in row["detail"]
    assert verify(engine).ok
    other = client_for("analyst")
    page = other.get(f"/person/{pid}").text
    assert 'name="decision"' not in page and "Escalating" in page


def test_export_matches_filters_and_is_audited(client_for, runs, engine):
    c = client_for("dapst")
    band = runs.current.bands[0]
    r = c.get("/cohort.csv", params={"band": band, "scope": "all"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    cur = runs.current.scores
    assert [x["person_id"] for x in rows] == list(cur[cur["band"] == band]
                                                  .sort_values("rank").index)
    a = query(engine, action="export")[0]
    assert a["actor"] == "dapst" and f'"rows":{len(rows)}' in a["detail"] and band in a["detail"]


def test_csv_formula_cells_are_neutralised():
    assert _safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _safe("@x") == "'@x"
    assert _safe("plain") == "plain" and _safe(0.5) == "0.5"


def test_model_and_governance_pages(client_for, runs):
    c = client_for("governance")
    model = c.get("/model").text
    assert "roc_auc" in model and "0.810" in model and "[0.790, 0.830]" in model
    assert all(i.name in model for i in runs.iterations)
    gov = c.get("/governance").text
    assert "fairness.csv" in gov and "female" in gov and "rfgv" in gov
    assert "model − rfgv" in gov and "+0.110 <small>[+0.080, +0.140]" in gov
    assert "Caution: synthetic numbers" in gov
    rep = c.get("/governance/report")
    assert "Model card" in rep.text and "sandbox" in rep.headers["content-security-policy"]


def test_audit_page_filters(client_for, runs):
    d = client_for("dapst")
    pid = runs.current.scores.index[5]
    d.get(f"/person/{pid}")
    g = client_for("governance")
    html = g.get("/audit", params={"action": "view_person", "actor": "dapst"}).text
    table = html.split('id="audit"')[1]
    assert pid in table and "<td>login</td>" not in table and "<td>view_person</td>" in table
    assert pid not in g.get("/audit", params={"action": "export"}).text


def test_admin_adds_and_disables_user(client_for, engine):
    from tests.app.apptest_helpers import login

    a = client_for("admin")
    r = a.post("/admin/users", data={"csrf": a.csrf, "name": "newbie", "role": "dapst",
                                     "password": "a long password"}, follow_redirects=False)
    assert r.status_code == 303
    assert login(client_for(None), "newbie", "a long password").status_code == 303
    r = a.post("/admin/users/newbie/disable", data={"csrf": a.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert login(client_for(None), "newbie", "a long password").status_code == 401
    assert a.post("/admin/users/admin/disable", data={"csrf": a.csrf}).status_code == 400
    assert "Add a user" not in client_for("governance").get("/admin/users").text
