"""Who may use which route: declared on each endpoint, enforced for every request in one place.

Every endpoint carries ``@allow(...)`` (roles, or ``PUBLIC``); :func:`enforce` runs as an
app-wide dependency and denies any route that has no declaration, so a new route is closed until
someone decides who may use it (and the access-matrix test fails until it is listed there).
POSTs also need the session's CSRF token in the ``csrf`` form field.

Roles: ``dapst`` reviews the cohort and records decisions; ``analyst`` sees the cohort and person
pages read-only plus the model, metrics and governance pages; ``governance`` is read-only on
everything, including the audit log and the user list; ``admin`` manages users only.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.concurrency import run_in_threadpool

PUBLIC = "public"
DAPST, ANALYST, GOVERNANCE, ADMIN = "dapst", "analyst", "governance", "admin"
READERS = (DAPST, ANALYST, GOVERNANCE)
MOUNT_POLICY = {"static": PUBLIC}  # mounted apps (no endpoint to decorate)


class LoginRequired(Exception):
    """No valid session: GET goes to the login page, anything else is refused."""


class Forbidden(Exception):
    """Authenticated (or not) but not allowed; shown as a 403 page that names nothing."""


def allow(*roles: str):
    """Declare the roles (or PUBLIC) allowed on an endpoint."""

    def mark(fn):
        fn.__rc_roles__ = frozenset(roles)
        return fn

    return mark


def roles_of(endpoint) -> frozenset | None:
    """The declared roles of an endpoint (None = undeclared, i.e. denied)."""
    return getattr(endpoint, "__rc_roles__", None)


async def enforce(request: Request) -> None:
    """App-wide dependency: session, role and CSRF checks before any endpoint runs."""
    route = request.scope.get("route")
    roles = roles_of(getattr(route, "endpoint", None))
    if roles is None:
        raise Forbidden()
    if PUBLIC in roles:
        return
    web = request.app.state.web
    # The session lookup touches the database: off the event loop, so a database lock never
    # stalls /healthz, /login or /static (cached on the request when the Guard already did it).
    principal = await run_in_threadpool(web.principal, request)
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal  # the 403 page keeps the user's own navigation
    if principal.role not in roles:
        raise Forbidden()
    if request.method not in ("GET", "HEAD"):
        form = await request.form()
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, principal.csrf):
            raise Forbidden()
