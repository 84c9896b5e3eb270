"""Access matrix: every route the app exposes x every role x anonymous.

Routes are enumerated from ``app.routes``; each must be listed in EXPECTED (and its declared
policy must agree), so adding a route without deciding who may use it fails here.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from riskcohort.app.policy import MOUNT_POLICY, PUBLIC, roles_of
from riskcohort.app.users import add_user
from tests.app.apptest_helpers import PASSWORD, ROLES

R, A, G, AD = "dapst", "analyst", "governance", "admin"
EXPECTED = {
    ("GET", "/healthz"): {PUBLIC},
    ("GET", "/login"): {PUBLIC},
    ("POST", "/login"): {PUBLIC},
    ("POST", "/logout"): {R, A, G, AD},
    ("GET", "/"): {R, A, G, AD},
    ("GET", "/cohort"): {R, A, G},
    ("GET", "/cohort.csv"): {R, A, G},
    ("GET", "/person/{pid}"): {R, A, G},
    ("POST", "/person/{pid}/decision"): {R},
    ("GET", "/person/{pid}/plan"): {R, A, G},
    ("POST", "/person/{pid}/plan"): {R},
    ("POST", "/person/{pid}/plan/tactic"): {R},
    ("POST", "/person/{pid}/plan/tactic-status"): {R},
    ("POST", "/person/{pid}/plan/review"): {R},
    ("GET", "/plans/overdue"): {R, A, G},
    ("POST", "/alerts/ack"): {R},
    ("POST", "/person/{pid}/manual"): {R},
    ("GET", "/model"): {A, G},
    ("GET", "/governance"): {A, G},
    ("GET", "/governance/report"): {A, G},
    ("GET", "/audit"): {G},
    ("GET", "/admin/users"): {AD, G},
    ("POST", "/admin/users"): {AD},
    ("POST", "/admin/users/{name}/disable"): {AD},
}


def walk(routes):
    """Routes of the app, descending into included routers (FastAPI keeps them nested)."""
    for route in routes:
        sub = getattr(route, "original_router", None)
        if sub is not None:
            assert not getattr(sub, "prefix", ""), "prefixed routers are not expected"
            yield from walk(sub.routes)
        else:
            yield route


def app_routes(app):
    """(method, path template, declared roles) for every route of the app."""
    out = []
    for route in walk(app.routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                out.append((method, route.path, roles_of(route.endpoint)))
        elif isinstance(route, Mount):
            out.append(("MOUNT", route.path, MOUNT_POLICY.get(route.name)))
        else:
            pytest.fail(f"unexpected route type {type(route).__name__} at {route.path}")
    return out


def test_every_route_has_a_declared_policy_matching_the_matrix(app):
    seen = set()
    for method, path, declared in app_routes(app):
        if method == "MOUNT":
            assert declared == PUBLIC, f"mount {path} has no policy"
            continue
        assert (method, path) in EXPECTED, f"route {method} {path} has no expected policy"
        assert declared is not None, f"route {method} {path} has no @allow declaration"
        assert set(declared) == EXPECTED[(method, path)], f"{method} {path}: {declared}"
        seen.add((method, path))
    assert seen == set(EXPECTED), f"expected routes missing from app: {set(EXPECTED) - seen}"


def test_undeclared_route_is_denied_for_everyone(app, client_for):
    @app.get("/new-page")
    def new_page():
        return {"secret": 1}

    try:
        for role in (None, *ROLES):
            assert client_for(role).get("/new-page").status_code == 403
    finally:
        app.router.routes.pop()


def _fill(path: str, runs) -> str:
    pid = runs.current.scores.sort_values("rank").index[0]
    return path.replace("{pid}", pid).replace("{name}", "spare")


@pytest.mark.parametrize("role", [None, *ROLES])
def test_access_matrix(app, runs, engine, client_for, role):
    add_user(engine, "spare", "dapst", PASSWORD)
    client = client_for(role)
    routes = [r for r in app_routes(app) if r[0] != "MOUNT"]
    for method, template, _ in routes:
        if (method, template) == ("POST", "/logout"):
            continue  # checked last: it ends the session
        allowed = EXPECTED[(method, template)]
        path = _fill(template, runs)
        data = {"csrf": getattr(client, "csrf", "")}
        r = (client.get(path, follow_redirects=False) if method == "GET"
             else client.post(path, data=data, follow_redirects=False))
        who = role or "anonymous"
        if PUBLIC in allowed:
            ok = {200, 303, 401, 403} if method == "POST" else {200}
            assert r.status_code in ok, f"{who} {method} {path}: {r.status_code}"
        elif role in allowed:
            assert r.status_code in {200, 303, 400}, f"{who} {method} {path}: {r.status_code}"
            assert r.status_code != 303 or "/login" not in r.headers.get("location", "")
        elif role is None:
            expect = 303 if method == "GET" else 403
            assert r.status_code == expect, f"{who} {method} {path}: {r.status_code}"
            if method == "GET":
                assert r.headers["location"] == "/login"
        else:
            assert r.status_code == 403, f"{who} {method} {path}: {r.status_code}"
            assert "person" not in r.text.lower() or "P0" not in r.text
    r = client.get("/static/app.css")
    assert r.status_code == 200 and "text/css" in r.headers["content-type"]
    r = client.post("/logout", data={"csrf": getattr(client, "csrf", "")},
                    follow_redirects=False)
    assert r.status_code == (303 if role else 403)
