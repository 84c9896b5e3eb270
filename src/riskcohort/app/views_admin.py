"""User administration page: admins add and disable users; governance may look (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from riskcohort.app import users as accounts
from riskcohort.app.policy import ADMIN, GOVERNANCE, allow
from riskcohort.app.web import client_ip, error_page
from riskcohort.errors import UserError

router = APIRouter()


@router.get("/admin/users")
@allow(ADMIN, GOVERNANCE)
def users_page(request: Request):
    web = request.app.state.web
    return web.render(request, "users.html", users=accounts.list_users(web.engine),
                      roles=accounts.ROLES, can_edit=request.state.principal.role == ADMIN)


@router.post("/admin/users")
@allow(ADMIN)
def add(request: Request, name: str = Form(""), role: str = Form(""), password: str = Form("")):
    web = request.app.state.web
    try:
        accounts.add_user(web.engine, name, role, password,
                          actor=request.state.principal.name, ip=client_ip(request))
    except UserError as exc:
        return web.render(request, "error.html", 400, status=400, message=str(exc),
                          back="/admin/users")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/disable")
@allow(ADMIN)
def disable(request: Request, name: str):
    web = request.app.state.web
    if name == request.state.principal.name:
        return web.render(request, "error.html", 400, status=400,
                          message="You cannot disable your own account.", back="/admin/users")
    try:
        accounts.disable_user(web.engine, name,
                              actor=request.state.principal.name, ip=client_ip(request))
    except UserError:
        return error_page(request, 404)
    return RedirectResponse("/admin/users", status_code=303)
