"""Plan pages (issue 19.3): a person's plan with tactics and reviews, and the overdue reviews.

Forms that are refused come back with what was typed and the error beside its field (status
400); an accepted form redirects with a confirmation line (``?done=``). Writes need the ``dapst``
role; the pages are read-only for analysts and governance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from riskcohort.app import alerts as _alerts  # noqa: F401  (registers alert_acks)
from riskcohort.app import audit as audit_log
from riskcohort.app import plans
from riskcohort.app.policy import DAPST, READERS, allow
from riskcohort.app.views_person import PID_RULE
from riskcohort.app.web import client_ip, error_page

router = APIRouter()
DONE = {"plan": "Plan created.", "tactic": "Tactic added.", "status": "Tactic status changed.",
        "review": "Review recorded.", "closed": "Review recorded and the plan closed.",
        "manual": "Added to the cohort manually; the person now shows in the cohort list."}


def _known(request: Request, pid: str) -> bool:
    it = request.app.state.web.runs.current
    return bool(PID_RULE.match(pid)) and pid in it.scores.index


def _page(request: Request, pid: str, code: int = 200, form: str = "", values=None,
          error=None):
    web = request.app.state.web
    engine = web.engine
    history = plans.for_person(engine, pid)
    current = next((p for p in history if p["status"] == "open"), None)
    today = dt.date.today().isoformat()
    done = DONE.get(request.query_params.get("done", ""))
    from riskcohort.app import manual

    it = web.runs.current
    return web.render(
        request, "plan.html", code, pid=pid, plans=history, current=current,
        adopted=plans.is_adopted(engine, pid), can_edit=request.state.principal.role == DAPST,
        tactics=plans.TACTICS, statuses=plans.TACTIC_STATUS, exits=plans.EXIT_REASONS,
        outcomes=plans.OUTCOMES, today=today, done=done, form=form, v=values or {},
        error=error, manual=manual.for_person(engine, pid),
        in_cohort=bool(it.scores.loc[pid, "in_cohort"]),
        in_two_weeks=(dt.date.today() + dt.timedelta(days=14)).isoformat())


@router.get("/person/{pid}/plan")
@allow(*READERS)
def plan_page(request: Request, pid: str):
    if not _known(request, pid):
        return error_page(request, 404)
    web = request.app.state.web
    try:
        audit_log.append(web.engine, request.state.principal.name, "view_plan", pid,
                         client_ip(request), {})
    except Exception:
        return error_page(request, 503)
    return _page(request, pid)


def _post(request: Request, pid: str, form: str, values: dict, action: Callable[[], Any],
          done: str | Callable[[Any], str]):
    """Run one write; a refused form comes back filled in with the error beside its field.

    ``done`` names what was done for the confirmation, or says it from the action's result."""
    if not _known(request, pid):
        return error_page(request, 404)
    try:
        result = action()
    except plans.FormError as exc:
        return _page(request, pid, 400, form, values, {"field": exc.field, "text": str(exc)})
    said = done(result) if callable(done) else done
    return RedirectResponse(f"/person/{pid}/plan?done={said}#{form}", status_code=303)


def _ctx(request: Request) -> dict:
    return {"user": request.state.principal.name, "ip": client_ip(request)}


@router.post("/person/{pid}/plan")
@allow(DAPST)
def create(request: Request, pid: str, team: str = Form(""), owner: str = Form(""),
           next_review: str = Form("")):
    values = {"team": team, "owner": owner, "next_review": next_review}
    engine = request.app.state.web.engine
    return _post(request, pid, "new-plan", values, lambda: plans.create_plan(
        engine, person_id=pid, team=team, owner=owner, next_review=next_review,
        **_ctx(request)), "plan")


@router.post("/person/{pid}/plan/tactic")
@allow(DAPST)
def tactic(request: Request, pid: str, kind: str = Form(""), other_text: str = Form(""),
           start_date: str = Form(""), status: str = Form(""), review_date: str = Form(""),
           note: str = Form("")):
    values = {"kind": kind, "other_text": other_text, "start_date": start_date,
              "status": status, "review_date": review_date, "note": note}
    engine = request.app.state.web.engine

    def act():
        plan = plans.open_plan(engine, pid) if _known(request, pid) else None
        if plan is None:
            raise plans.FormError("kind", "tactic: rule the person needs an open plan first")
        return plans.add_tactic(engine, plan_id=plan["id"], kind=kind, other_text=other_text,
                                start_date=start_date, status=status, review_date=review_date,
                                note=note, **_ctx(request))
    return _post(request, pid, "new-tactic", values, act, "tactic")


@router.post("/person/{pid}/plan/tactic-status")
@allow(DAPST)
def tactic_status(request: Request, pid: str, tactic_id: str = Form(""),
                  status: str = Form("")):
    engine = request.app.state.web.engine

    def act():
        tid = int(tactic_id) if tactic_id.isascii() and tactic_id.isdigit() else -1
        plan = plans.open_plan(engine, pid)
        owned = plan and any(t["id"] == tid for p in plans.for_person(engine, pid)
                             if p["id"] == plan["id"] for t in p["tactics"])
        if not owned:
            raise plans.FormError("status", "tactic: rule one of this person's open tactics")
        return plans.set_tactic_status(engine, tactic_id=tid, status=status, **_ctx(request))
    return _post(request, pid, "tactics", {"status": status}, act, "status")


@router.post("/person/{pid}/plan/review")
@allow(DAPST)
def review(request: Request, pid: str, progress: str = Form(""), outcome: str = Form(""),
           next_review: str = Form(""), exit_reason: str = Form("")):
    values = {"progress": progress, "outcome": outcome, "next_review": next_review,
              "exit_reason": exit_reason}
    engine = request.app.state.web.engine

    def act():
        plan = plans.open_plan(engine, pid)
        if plan is None:
            raise plans.FormError("progress", "review: rule the person needs an open plan")
        plans.review_plan(engine, plan_id=plan["id"], progress=progress, outcome=outcome,
                          next_review=next_review, exit_reason=exit_reason, **_ctx(request))
        return outcome
    return _post(request, pid, "review", values, act,
                 lambda outcome: "closed" if outcome == "close" else "review")


@router.get("/plans/overdue")
@allow(*READERS)
async def overdue(request: Request):
    web = request.app.state.web
    team = (request.query_params.get("team") or "")[:64]
    teams = await run_in_threadpool(plans.teams, web.engine)
    team = team if team in teams else ""
    rows = await run_in_threadpool(plans.overdue, web.engine, None, team)
    try:
        await run_in_threadpool(audit_log.append, web.engine, request.state.principal.name,
                                "view_overdue", team, client_ip(request), {"rows": len(rows)})
    except Exception:
        return error_page(request, 503)
    return web.render(request, "overdue.html", rows=rows, teams=teams, team=team,
                      today=dt.date.today().isoformat())


@router.post("/alerts/ack")
@allow(DAPST)
def acknowledge(request: Request, key: str = Form("")):
    """Acknowledge one alert (sealed in the audit chain); back to the landing page."""
    from riskcohort.app.alerts import acknowledge as ack

    web = request.app.state.web
    if not ack(web.engine, web.runs.current, key[:300], user=request.state.principal.name,
               ip=client_ip(request)):
        return web.render(request, "error.html", 400, status=400, back="/cohort",
                          message="That alert is no longer current (acknowledged already, or "
                                  "the data changed).")
    return RedirectResponse("/cohort?ack=1#alerts", status_code=303)


@router.post("/person/{pid}/manual")
@allow(DAPST)
def manual_add(request: Request, pid: str, reason: str = Form("")):
    """Add a person outside the cohort to it, with a reason (issue 19.5)."""
    from riskcohort.app import manual

    web = request.app.state.web
    if not _known(request, pid):
        return error_page(request, 404)
    try:
        manual.add(web.engine, web.runs.current, person_id=pid, reason=reason,
                   user=request.state.principal.name, ip=client_ip(request))
    except plans.FormError as exc:
        return _page(request, pid, 400, "manual", {"reason": reason},
                     {"field": exc.field, "text": str(exc)})
    return RedirectResponse(f"/person/{pid}/plan?done=manual", status_code=303)
