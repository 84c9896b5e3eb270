"""The FastAPI application: wiring, security headers, error pages, login and logout.

Pages are server-rendered (Jinja2, autoescaped) with no JavaScript, so a strict
Content-Security-Policy holds. Run data is loaded once (``rundata``) and kept in memory; app state
goes through SQLAlchemy (``db``). Error pages are generic: a 403 or 404 never says whether a
person, user or route exists.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from riskcohort.app import users as accounts
from riskcohort.app.policy import ADMIN, PUBLIC, READERS, Forbidden, LoginRequired, allow, enforce
from riskcohort.app.rundata import RunSet

HERE = Path(__file__).parent
SESSION_COOKIE, PRE_COOKIE = "rc_session", "rc_pre"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-src 'self'; frame-ancestors 'self'; base-uri 'none'")
MESSAGES = {400: "The request could not be processed.", 403: "You do not have access to this page.",
            404: "Page not found.", 405: "Method not allowed.", 429: "Too many attempts.",
            503: "The page could not be shown because the audit record could not be written."}


@dataclass
class Settings:
    """Tunables (tests shorten the timers)."""

    session_ttl_s: int = 8 * 3600
    idle_s: int = 30 * 60
    max_failures: int = 5
    failure_window_s: int = 15 * 60
    secure_cookies: bool = False
    use_explain: bool = True
    page_size: int = 50


class Web:
    """Per-app state shared by the views."""

    def __init__(self, runs: RunSet, engine: Engine, settings: Settings):
        self.runs, self.engine, self.settings = runs, engine, settings
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def principal(self, request: Request):
        """The session's user (cached on the request)."""
        if not hasattr(request.state, "_principal"):
            request.state._principal = accounts.session_principal(
                self.engine, request.cookies.get(SESSION_COOKIE), idle_s=self.settings.idle_s)
        return request.state._principal

    def render(self, request: Request, name: str, code: int = 200, **ctx) -> Response:
        """Render a template with the user and CSRF token in context."""
        ctx.setdefault("user", getattr(request.state, "principal", None))
        return self.templates.TemplateResponse(request, name, ctx, status_code=code)


def client_ip(request: Request) -> str:
    """The peer address (proxies are not trusted: X-Forwarded-For is ignored)."""
    return request.client.host if request.client else "unknown"


def error_page(request: Request, status: int) -> Response:
    """Generic error page; plain text if rendering itself fails."""
    try:
        return request.app.state.web.render(request, "error.html", status,
                                            status=status, message=MESSAGES.get(status, "Error"))
    except Exception:  # pragma: no cover - last resort
        return PlainTextResponse(MESSAGES.get(status, "Error"), status_code=status)


class SecurityHeaders:
    """Pure ASGI middleware adding CSP and friends; authenticated pages are not cached.

    ``Server-Timing`` carries the time spent in the app, so a load test can tell server time
    from queueing in the client.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")
        t0 = time.perf_counter()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                h = list(message.get("headers", []))
                names = {k.lower() for k, _ in h}
                extra = {b"x-content-type-options": b"nosniff",
                         b"referrer-policy": b"no-referrer", b"x-frame-options": b"SAMEORIGIN",
                         b"content-security-policy": CSP.encode(),
                         b"cache-control": b"public, max-age=3600" if static else b"no-store",
                         b"server-timing": f"app;dur={(time.perf_counter() - t0) * 1e3:.1f}"
                         .encode()}
                h += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = h
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(runs: RunSet, engine: Engine, settings: Settings | None = None) -> FastAPI:
    """Build the app over loaded runs and a migrated database."""
    from riskcohort.app import views_admin, views_cohort, views_gov, views_person

    app = FastAPI(title="riskcohort review", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(enforce)])
    app.state.web = Web(runs, engine, settings or Settings())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc):
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/login", status_code=303)
        return error_page(request, 403)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc):
        return error_page(request, 403)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return error_page(request, exc.status_code if exc.status_code in MESSAGES else 400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _exc):
        return error_page(request, 400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, _exc):  # pragma: no cover - never show a traceback
        return PlainTextResponse("Internal error.", status_code=500)

    if app.state.web.settings.use_explain:
        from riskcohort.app.explain_adapter import warm

        warm(runs.current)
    app.include_router(auth_router())
    for module in (views_cohort, views_person, views_gov, views_admin):
        app.include_router(module.router)
    return app


def auth_router():
    """Health check, home redirect, login and logout."""
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/healthz")
    @allow(PUBLIC)
    def healthz(request: Request):
        with request.app.state.web.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return PlainTextResponse("ok")

    @router.get("/")
    @allow(*READERS, ADMIN)
    def home(request: Request):
        role = request.state.principal.role
        return RedirectResponse("/admin/users" if role == ADMIN else "/cohort", status_code=303)

    @router.get("/login")
    @allow(PUBLIC)
    def login_form(request: Request):
        web = request.app.state.web
        return _login_page(request, web, 200, "")

    @router.post("/login")
    @allow(PUBLIC)
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf: str = Form("")):
        web = request.app.state.web
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not hmac.compare_digest(csrf.encode(), pre.encode()):
            return error_page(request, 403)
        s = web.settings
        try:
            token = accounts.login(web.engine, username, password, client_ip(request),
                                   max_failures=s.max_failures, window_s=s.failure_window_s,
                                   ttl_s=s.session_ttl_s)
        except accounts.Throttled:
            return _login_page(request, web, 429, "Too many failed attempts. Try again later.")
        if token is None:
            return _login_page(request, web, 401, "Invalid user name or password.")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, max_age=s.session_ttl_s, httponly=True,
                        samesite="strict", secure=s.secure_cookies, path="/")
        resp.delete_cookie(PRE_COOKIE, path="/")
        return resp

    @router.post("/logout")
    @allow(*READERS, ADMIN)
    def logout(request: Request):
        web = request.app.state.web
        accounts.logout(web.engine, request.cookies.get(SESSION_COOKIE),
                        request.state.principal, client_ip(request))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    return router


def _login_page(request: Request, web: Web, status: int, error: str) -> Response:
    """Login form with a double-submit CSRF token (the pre-login cookie)."""
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    resp = web.render(request, "login.html", status, csrf=pre, error=error, user=None)
    resp.set_cookie(PRE_COOKIE, pre, max_age=3600, httponly=True, samesite="strict",
                    secure=web.settings.secure_cookies, path="/")
    return resp
