"""The FastAPI application: wiring, security headers, error pages, login and logout.

Pages are server-rendered (Jinja2, autoescaped) with no JavaScript, so a strict
Content-Security-Policy holds. Run data is loaded once (``rundata``) and kept in memory; app state
goes through SQLAlchemy (``db``). Error pages are generic: a 403 or 404 never says whether a
person, user or route exists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
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
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from riskcohort.app import users as accounts
from riskcohort.app.policy import (
    ADMIN,
    PUBLIC,
    READERS,
    Forbidden,
    LoginRequired,
    allow,
    enforce,
    roles_of,
)
from riskcohort.app.rundata import RunSet

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_COOKIE, PRE_COOKIE = "rc_session", "rc_pre"
# Host names always accepted: loopback, and the name Starlette's test client sends (it does not
# resolve, so it gives a DNS-rebinding page nothing). `serve` adds its bind address and any
# --allowed-host.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_HOSTS = (*LOOPBACK_HOSTS, "testserver")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-src 'self'; frame-ancestors 'self'; base-uri 'none'")
MESSAGES = {400: "The request could not be processed.", 403: "You do not have access to this page.",
            404: "Page not found.", 405: "Method not allowed.",
            413: "The request is too large.", 429: "Too many attempts.",
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
    max_body_bytes: int = 128 * 1024  # a decision's 4,000-character rationale fits many times
    allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS
    single_session: bool = True  # a new login ends the user's older sessions
    backoff_s: int = 30  # first wait once max_failures is reached; doubles, capped at the window
    throttle_audit_s: int = 60  # throttled attempts are audited as one row per this period
    pre_token_ttl_s: int = 3600  # life of the login form's signed CSRF token

    def __post_init__(self):
        self.allowed_hosts = tuple(_host_name(h) for h in self.allowed_hosts)


class Web:
    """Per-app state shared by the views."""

    def __init__(self, runs: RunSet, engine: Engine, settings: Settings):
        self.runs, self.engine, self.settings = runs, engine, settings
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        from riskcohort.app.timefmt import time_tag, time_tag_if_time, zone_name

        self.templates.env.filters["when"] = time_tag  # local, readable; ISO in <time datetime>
        self.templates.env.filters["when_text"] = time_tag_if_time
        self.templates.env.globals["tz_name"] = zone_name
        from riskcohort.app.audit import derive_key

        self._pre_key = derive_key(engine, "login-csrf")
        # Behind HTTPS the pre-login cookie gets the __Host- prefix: a sibling host or a
        # plain-HTTP page cannot plant it.
        self.pre_cookie = ("__Host-" if settings.secure_cookies else "") + PRE_COOKIE

    def pre_token(self, nonce: str, now: float | None = None) -> str:
        """The login form's token: issue time and an HMAC over (nonce, issue time)."""
        issued = int(now if now is not None else time.time())
        mac = hmac.new(self._pre_key, f"{nonce}.{issued}".encode(), hashlib.sha256).hexdigest()
        return f"{issued}.{mac}"

    def pre_token_ok(self, nonce: str, token: str) -> bool:
        """True if ``token`` was issued by this server for this cookie and has not expired."""
        issued, _, mac = (token or "").partition(".")
        if not nonce or not issued.isascii() or not issued.isdigit() or len(issued) > 12:
            return False
        if not 0 <= time.time() - int(issued) <= self.settings.pre_token_ttl_s:
            return False
        return hmac.compare_digest(self.pre_token(nonce, int(issued)), token)

    def principal(self, request: Request):
        """The session's user (cached on the request). Blocking: call it from a thread."""
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


class BodyTooLarge(Exception):
    """The request body went over ``Settings.max_body_bytes`` while it was being read."""


def _host_name(value: str) -> str:
    """Host header without port or IPv6 brackets, lower case.

    >>> _host_name("[::1]:8000"), _host_name("LocalHost:80"), _host_name("127.0.0.1")
    ('::1', 'localhost', '127.0.0.1')
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """Outermost ASGI wrapper: checks that must hold for every response, before any parsing.

    - security headers on every response, including 400/403/413/500 made here or deeper down
      (CSP, nosniff, no-store, frame options; HSTS with secure cookies);
    - the Host header must be an allowed host (no redirects to ``evil.example``, no DNS
      rebinding onto the app);
    - a request body larger than ``max_body_bytes`` is refused (413) before it is read, and a
      body sent without a length is cut off at the limit;
    - a POST to a protected route needs a valid session with the right role *before* its body
      is read (checked on the first read of the body, once the router has matched the route),
      so an anonymous client cannot make the server parse a large form; a POST that the browser
      marks as cross-site (``Sec-Fetch-Site``) is refused;
    - an exception never reaches uvicorn (which would reset the keep-alive connection): it is
      logged and answered with a plain 500 if nothing was sent yet.

    ``Server-Timing`` carries the time spent in the app, so a load test can tell server time
    from queueing in the client.
    """

    def __init__(self, app, web_app):
        self.app, self.web_app = app, web_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        web = self.web_app.state.web
        s = web.settings
        static = scope["path"].startswith("/static/")
        t0 = time.perf_counter()
        state = {"started": False, "cut": False}

        async def send_with_headers(message):
            if state["cut"]:
                return  # a 413 was sent already; drop what the app says after the cut
            if message["type"] == "http.response.start":
                state["started"] = True
                h = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in h}
                extra = {b"x-content-type-options": b"nosniff",
                         b"referrer-policy": b"no-referrer", b"x-frame-options": b"SAMEORIGIN",
                         b"content-security-policy": CSP.encode(),
                         b"cache-control": b"public, max-age=3600" if static else b"no-store",
                         b"server-timing": f"app;dur={(time.perf_counter() - t0) * 1e3:.1f}"
                         .encode()}
                if s.secure_cookies:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                h += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = h
            await send(message)

        async def reply(status: int):
            request = Request(scope)
            resp = error_page(request, status)
            await resp(scope, receive, send_with_headers)

        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if _host_name(headers.get(b"host", b"").decode("latin-1")) not in s.allowed_hosts:
            return await reply(400)
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await reply(400)
            if int(length) > s.max_body_bytes:
                return await reply(413)
        write = scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if write and headers.get(b"sec-fetch-site", b"") in (b"cross-site", b"same-site"):
            return await reply(403)
        received, checked = 0, not write

        async def limited_receive():
            nonlocal received, checked
            if not checked:  # the router has matched by now: authorise before any body byte
                checked = True
                denied = await self._denied_before_body(scope, web)
                if denied:
                    if not state["started"]:
                        await reply(denied)
                    state["cut"] = True
                    return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > s.max_body_bytes:
                    if not state["started"]:
                        await reply(413)
                    state["cut"] = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not state["cut"]:
                logger.exception("request failed: %s %s", scope["method"], scope["path"])
            if not state["started"]:
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"text/plain")]})
                await send_with_headers({"type": "http.response.body",
                                         "body": b"Internal error."})

    @staticmethod
    async def _denied_before_body(scope, web) -> int | None:
        """403 if a write to a protected route has no session with an allowed role."""
        roles = roles_of(getattr(scope.get("route"), "endpoint", None))
        if roles is None:
            return 403
        if PUBLIC in roles:
            return None
        principal = await run_in_threadpool(web.principal, Request(scope))
        if principal is None or principal.role not in roles:
            return 403
        return None


class ReviewApp(FastAPI):
    """FastAPI with :class:`Guard` outside everything, even Starlette's error middleware."""

    def build_middleware_stack(self):
        return Guard(super().build_middleware_stack(), self)


def create_app(runs: RunSet, engine: Engine, settings: Settings | None = None) -> FastAPI:
    """Build the app over loaded runs and a migrated database."""
    from riskcohort.app import views_admin, views_casework, views_cohort, views_gov, views_person

    app = ReviewApp(title="riskcohort review", docs_url=None, redoc_url=None, openapi_url=None,
                    dependencies=[Depends(enforce)])
    app.state.web = Web(runs, engine, settings or Settings())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

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
        resp = error_page(request, exc.status_code if exc.status_code in MESSAGES else 400)
        for k, v in (exc.headers or {}).items():  # e.g. Allow on a 405
            if k.lower() in ("allow", "retry-after"):
                resp.headers[k] = v
        return resp

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
    for module in (views_cohort, views_person, views_gov, views_admin, views_casework):
        app.include_router(module.router)
    return app


def int_param(request: Request, name: str, default: int = 1, hi: int = 999_999) -> int:
    """A positive whole-number query parameter; anything else is a 400 (not a 500).

    Only ASCII digits count: ``"\u00b2".isdigit()`` is true but ``int()`` refuses it.
    """
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(hi))) or not 0 < int(raw) <= hi:
        raise HTTPException(400)
    return int(raw)


def auth_router():
    """Health check, home redirect, login and logout."""
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/healthz")
    @allow(PUBLIC)
    def healthz(request: Request):
        """Sync on purpose: the database ping runs in the thread pool, never on the loop."""
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
        if not web.pre_token_ok(request.cookies.get(web.pre_cookie, ""), csrf):
            return error_page(request, 403)
        s = web.settings
        try:
            token = accounts.login(web.engine, username, password, client_ip(request),
                                   max_failures=s.max_failures, window_s=s.failure_window_s,
                                   ttl_s=s.session_ttl_s, backoff_s=s.backoff_s,
                                   single_session=s.single_session,
                                   throttle_audit_s=s.throttle_audit_s)
        except accounts.Throttled as exc:
            resp = _login_page(request, web, 429, "Too many failed attempts. Try again later.")
            resp.headers["Retry-After"] = str(max(1, int(exc.retry_after)))
            return resp
        if token is None:
            return _login_page(request, web, 401, "Invalid user name or password.")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, max_age=s.session_ttl_s, httponly=True,
                        samesite="strict", secure=s.secure_cookies, path="/")
        resp.delete_cookie(web.pre_cookie, path="/")
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
    """Login form with a signed CSRF token tied to the pre-login cookie's random nonce."""
    nonce = request.cookies.get(web.pre_cookie) or ""
    if not (16 <= len(nonce) <= 64):
        nonce = secrets.token_urlsafe(24)
    resp = web.render(request, "login.html", status, csrf=web.pre_token(nonce), error=error,
                      user=None)
    resp.set_cookie(web.pre_cookie, nonce, max_age=web.settings.pre_token_ttl_s, httponly=True,
                    samesite="strict", secure=web.settings.secure_cookies, path="/")
    return resp
