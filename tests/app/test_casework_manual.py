"""Manual additions (issue 19.5): a DAPST user adds a person outside the cohort with a reason;
the person is marked manual in the cohort list and counted in the decision audit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from riskcohort.app import audit
from riskcohort.app.decision_audit import decision_audit
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, csrf_of, login


def test_manual_addition_kept_in_cohort_list_and_audited(runs, db_url):
    from riskcohort.app.db import open_db

    eng = open_db(db_url)
    add_user(eng, "dee", "dapst", PASSWORD)
    app = create_app(runs, eng, Settings(use_explain=False))
    it = runs.current
    outside = it.scores[~it.scores["in_cohort"].astype(bool)].sort_values("rank").index[-1]
    inside = it.scores.sort_values("rank").index[0]
    with TestClient(app, client=("testclient", 50000)) as c:
        assert login(c, "dee").status_code == 303
        csrf = csrf_of(c.get("/cohort").text)
        assert outside not in c.get("/cohort").text
        r = c.post(f"/person/{outside}/manual", data={"csrf": csrf, "reason": "short"})
        assert r.status_code == 400 and 'id="err-reason"' in r.text and "short" in r.text
        r = c.post(f"/person/{outside}/manual",
                   data={"csrf": csrf, "reason": "MARAC referral from the IDVA service"})
        assert r.status_code == 200 and "Added to the cohort manually" in r.text
        assert c.post(f"/person/{inside}/manual", data={
            "csrf": csrf, "reason": "already ranked in the cohort"}).status_code == 400
        assert "51 people" in c.get("/cohort").text  # the cohort of 50 and the added person
        page = c.get(f"/cohort?q={outside}").text  # in rank order: on the last page
        row = page[page.index(f'href="/person/{outside}"'):][:400]
        assert 'class="manual"' in row
        assert outside in c.get("/cohort.csv").text
    assert audit.query(eng, action="manual_add")[0]["target"] == outside
    assert audit.verify(eng).ok
    rows = decision_audit(eng, it)["tables"]["sex"]
    assert rows[0]["cells"][4]["k"] == 1 and rows[0]["n"] == 1
    eng.dispose()
