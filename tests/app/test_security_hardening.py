"""Issue 20 through the ASGI app (TestClient): throttling races and backoff, bounded bodies read
only after auth, bad integers, headers on every response, Host check, signed login CSRF, list
views audited, one session per user, HSTS, 405 Allow, and run data the app cannot serve.
The same findings through the real server: tests/app/test_real_server.py."""

from __future__ import annotations

import threading
import time

import pytest

from riskcohort.app import audit, users
from riskcohort.app.audit import query
from riskcohort.app.web import Settings, create_app
from tests.app.apptest_helpers import PASSWORD, csrf_of, login

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options",
                    "cache-control")


def _has_security_headers(r) -> bool:
    return all(h in r.headers for h in SECURITY_HEADERS) and r.headers["cache-control"]


# --- 2, 8, 11: throttling ------------------------------------------------------------------------

@pytest.fixture
def slow_hasher(monkeypatch):
    """Widen the race window: each password check takes 0.2 s (as argon2 does on a busy box)."""
    calls = []
    real = users._hasher

    class Slow:
        def hash(self, pw):
            return real.hash(pw)

        def verify(self, h, pw):
            calls.append(1)
            time.sleep(0.2)
            return real.verify(h, pw)

    monkeypatch.setattr(users, "_hasher", Slow())
    return calls


@pytest.fixture
def backend_engine(db_url):
    """SQLite and a real PostgreSQL: the throttle's lock is the backend's row/database lock."""
    from riskcohort.app.db import open_db

    eng = open_db(db_url)
    users.add_user(eng, "dapst", "dapst", PASSWORD)
    yield eng
    eng.dispose()


def test_parallel_wrong_passwords_get_at_most_the_limit_judged(backend_engine, slow_hasher):
    engine = backend_engine
    results = []

    def attempt():
        try:
            results.append(users.login(engine, "dapst", "wrong password", "10.0.0.7"))
        except users.Throttled:
            results.append("throttled")

    threads = [threading.Thread(target=attempt) for _ in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slow_hasher) <= 5
    assert results.count("throttled") >= 10
    assert len([a for a in query(engine) if a["action"] == "login_failed"]) <= 5


def test_throttled_attempts_are_cheap_and_audited_in_aggregate(engine, slow_hasher):
    for _ in range(5):
        assert users.login(engine, "dapst", "wrong password", "10.0.0.8") is None
    slow_hasher.clear()
    t0 = time.perf_counter()
    for _ in range(60):
        with pytest.raises(users.Throttled):
            users.login(engine, "dapst", PASSWORD, "10.0.0.8")
    assert slow_hasher == []  # no password check at all
    assert time.perf_counter() - t0 < 5
    rows = [a for a in query(engine) if a["action"] == "login_throttled"]
    assert len(rows) == 1 and '"attempts":1' in rows[0]["detail"]


def test_lockout_is_a_short_backoff_per_address(client_for, engine, monkeypatch):
    """Five wrong passwords do not lock an officer out for 15 minutes: the address that failed
    waits 30 s (then 60 s, ...), everyone else is unaffected."""
    bad = client_for(None, ip="10.9.9.9")
    for _ in range(5):
        assert login(bad, "dapst", "wrong password").status_code == 401
    r = login(bad, "dapst")
    assert r.status_code == 429 and int(r.headers["retry-after"]) <= 30
    assert login(client_for(None, ip="10.9.9.8"), "dapst").status_code == 303
    now = time.time()
    monkeypatch.setattr(users.time, "time", lambda: now + 31)
    assert login(bad, "dapst", "wrong password again").status_code == 401  # one more try...
    monkeypatch.setattr(users.time, "time", lambda: now + 62)
    assert login(bad, "dapst").status_code == 429  # ...then 60 s
    monkeypatch.setattr(users.time, "time", lambda: now + 92)
    assert login(bad, "dapst").status_code == 303


# --- 5: bounded bodies, auth before parsing ----------------------------------------------------

def test_anonymous_post_is_refused_before_its_body_is_parsed(client_for, runs, monkeypatch):
    from starlette import formparsers

    parsed = []
    real = formparsers.FormParser.parse

    async def counting(self):
        form = await real(self)  # raises if the body was withheld
        parsed.append(len(form))
        return form

    monkeypatch.setattr(formparsers.FormParser, "parse", counting)
    c = client_for(None)
    pid = runs.current.scores.index[0]
    r = c.post(f"/person/{pid}/decision", data={f"f{i}": "x" * 1000 for i in range(60)})
    assert r.status_code == 403 and parsed == [] and _has_security_headers(r)


def test_body_over_the_limit_is_refused(client_for, runs):
    c = client_for("dapst")
    pid = runs.current.scores.index[0]
    big = {"csrf": c.csrf, "decision": "adopt", "rationale": "x" * 200_000}
    r = c.post(f"/person/{pid}/decision", data=big)
    assert r.status_code == 413 and _has_security_headers(r)

    def chunks():  # no Content-Length: cut off while reading
        for _ in range(40):
            yield b"a" * 10_000

    r = c.post(f"/person/{pid}/decision", content=chunks(),
               headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert not [a for a in query(c.app.state.web.engine) if a["action"] == "decision"]


# --- 6: bad integers and headers on every response ---------------------------------------------

@pytest.mark.parametrize("path", ["/cohort", "/cohort.csv", "/audit"])
@pytest.mark.parametrize("page", ["\u00b2", "\u0663", "0", "-1", "1e3", "9999999", " 1"])
def test_bad_page_is_400_with_headers(client_for, path, page):
    r = client_for("governance").get(path, params={"page": page})
    assert r.status_code == 400 and _has_security_headers(r)


def test_a_crash_is_a_500_with_headers(runs, engine, monkeypatch):
    from fastapi.testclient import TestClient

    from riskcohort.app import views_gov

    def boom(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(views_gov, "metrics_context", boom)
    app = create_app(runs, engine, Settings(use_explain=False))
    c = TestClient(app, raise_server_exceptions=False)
    assert login(c, "analyst").status_code == 303
    r = c.get("/model")
    assert r.status_code == 500 and _has_security_headers(r) and "boom" not in r.text
    assert c.get("/healthz").status_code == 200


# --- 9: Host header ----------------------------------------------------------------------------

def test_unknown_host_is_refused_and_never_redirected_to(client_for):
    c = client_for("dapst")
    r = c.get("/cohort/", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 400 and "evil.example" not in r.headers.get("location", "")
    assert _has_security_headers(r)
    assert c.get("/cohort", headers={"host": "127.0.0.1:8000"}).status_code == 200
    assert c.get("/cohort", headers={"host": "[::1]:8000"}).status_code == 200


# --- 10: login CSRF ----------------------------------------------------------------------------

def test_planted_pre_login_cookie_does_not_log_in(client_for):
    c = client_for(None)
    c.cookies.set("rc_pre", "attacker-chosen-value-1234")
    r = c.post("/login", data={"username": "dapst", "password": PASSWORD,
                               "csrf": "attacker-chosen-value-1234"}, follow_redirects=False)
    assert r.status_code == 403 and "rc_session" not in r.headers.get("set-cookie", "")


def test_login_token_is_tied_to_its_cookie_and_expires(client_for, monkeypatch):
    a, b = client_for(None), client_for(None)
    token_a = csrf_of(a.get("/login").text)
    b.get("/login")  # b has its own cookie; a's token does not fit it
    r = b.post("/login", data={"username": "dapst", "password": PASSWORD, "csrf": token_a},
               follow_redirects=False)
    assert r.status_code == 403
    from riskcohort.app import web

    now = time.time()
    monkeypatch.setattr(web.time, "time", lambda: now + 3700)
    r = a.post("/login", data={"username": "dapst", "password": PASSWORD, "csrf": token_a},
               follow_redirects=False)
    assert r.status_code == 403
    monkeypatch.undo()
    assert login(a, "dapst").status_code == 303


def test_cross_site_post_is_refused(client_for):
    c = client_for(None)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "dapst", "password": PASSWORD, "csrf": token},
               headers={"sec-fetch-site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 403


# --- 12: the informational findings ------------------------------------------------------------

def test_list_views_are_audited(client_for, engine):
    c = client_for("analyst")
    assert c.get("/cohort", params={"scope": "all", "q": "P0", "page": "2"}).status_code == 200
    rows = [a for a in query(engine) if a["action"] == "view_cohort" and "P0" in a["detail"]]
    assert len(rows) == 1 and rows[0]["actor"] == "analyst"
    assert '"scope":"all"' in rows[0]["detail"] and '"q":"P0"' in rows[0]["detail"]
    assert audit.verify(engine).ok


def test_new_login_ends_older_sessions(client_for):
    first = client_for("dapst")
    assert first.get("/cohort").status_code == 200
    client_for("dapst")
    assert first.get("/cohort", follow_redirects=False).status_code == 303


def test_hsts_only_with_secure_cookies(runs, engine):
    from fastapi.testclient import TestClient

    plain = TestClient(create_app(runs, engine, Settings(use_explain=False)))
    assert "strict-transport-security" not in plain.get("/login").headers
    secure = TestClient(create_app(runs, engine, Settings(use_explain=False,
                                                          secure_cookies=True)),
                        base_url="https://testserver")
    r = secure.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "__Host-rc_pre" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]


def test_405_names_the_allowed_methods(client_for):
    r = client_for("dapst").delete("/cohort")
    assert r.status_code == 405 and r.headers["allow"] == "GET" and _has_security_headers(r)


def test_header_only_scores_and_bad_ids_are_refused(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from riskcohort.app.commands import check_runs
    from riskcohort.errors import UserError

    def runs_of(ids):
        it = SimpleNamespace(root=tmp_path, scores=pd.DataFrame(
            {"score": [0.5] * len(ids)}, index=pd.Index(ids, name="person_id")))
        return SimpleNamespace(current=it, iterations=[it])

    check_runs(runs_of(["P1", "P_2.x:y-z"]))
    with pytest.raises(UserError, match="no rows"):
        check_runs(runs_of([]))
    with pytest.raises(UserError, match="person_id.*'A/B 1'"):
        check_runs(runs_of(["P1", "A/B 1"]))


def test_uvicorn_trusts_no_forwarded_headers_by_default():
    from riskcohort.app.commands import uvicorn_options

    opts = uvicorn_options("127.0.0.1", 8000, None)
    assert opts["proxy_headers"] is False and "forwarded_allow_ips" not in opts
    assert opts["server_header"] is False
    opts = uvicorn_options("127.0.0.1", 8000, "10.0.0.2")
    assert opts["proxy_headers"] is True and opts["forwarded_allow_ips"] == "10.0.0.2"
