"""Person page and decision form.

The audit row for a person page view is written *before* anything about the person is rendered;
if that write fails the user gets a 503 page and no data (an unaudited view must not happen).
"""

from __future__ import annotations

import math
import re

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from riskcohort.app import audit as audit_log
from riskcohort.app import decisions
from riskcohort.app.charts import waterfall
from riskcohort.app.explain_adapter import person_view
from riskcohort.app.policy import DAPST, READERS, allow
from riskcohort.app.web import client_ip, error_page
from riskcohort.errors import UserError

router = APIRouter()
PID_RULE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def uncertainty(it, score: float, band: str) -> dict:
    """How close the score is to a band boundary: the band is uncertain when it is close.

    Uses the run's own score interval when scores.csv carries one (score_lo/score_hi).
    """
    row = it.scores
    floors = sorted(((f, b) for b, f in it.band_floor.items()), reverse=True)
    i = next((k for k, (_, b) in enumerate(floors) if b == band), None)
    below = floors[i][0] if i is not None else math.nan
    above = floors[i - 1][0] if i else math.nan
    gap = min(abs(score - below) if i is not None and i < len(floors) - 1 else math.inf,
              abs(above - score) if i else math.inf)
    out = {"gap": gap if math.isfinite(gap) else None, "lo": None, "hi": None}
    for lo, hi in (("score_lo", "score_hi"), ("score_low", "score_high")):
        if lo in row.columns and hi in row.columns:
            out["lo_col"], out["hi_col"] = lo, hi
    return out


def _short(v) -> str:
    """Compact value for chart labels ('unknown' for NaN).

    >>> _short(3.0), _short(float("nan")), _short(0.12345)
    ('3', 'unknown', '0.123')
    """
    if v != v:
        return "unknown"
    return f"{float(v):.3g}"


def _known(request: Request, pid: str):
    it = request.app.state.web.runs.current
    return it if PID_RULE.match(pid) and pid in it.scores.index else None


@router.get("/person/{pid}")
@allow(*READERS)
async def person(request: Request, pid: str):
    """Async like the cohort page; the explain stage (model, SHAP) runs in the thread pool."""
    web = request.app.state.web
    it = _known(request, pid)
    if it is None:
        return error_page(request, 404)
    user = request.state.principal
    try:  # in the thread pool: a database lock must not stall the event loop
        await run_in_threadpool(audit_log.append, web.engine, user.name, "view_person", pid,
                                client_ip(request), {"iteration": it.name})
    except Exception:
        return error_page(request, 503)
    row = it.scores.loc[pid]
    unc = uncertainty(it, float(row["score"]), row["band"])
    if "lo_col" in unc:
        unc["lo"], unc["hi"] = float(row[unc["lo_col"]]), float(row[unc["hi_col"]])
    terms = it.person_terms(pid)
    if web.settings.use_explain and (it.root / "model" / "model.txt").exists():
        view = await run_in_threadpool(person_view, it, pid, True)
    else:
        view = person_view(it, pid, False)
    chart = waterfall(it.base_value, [(f"{i} = {_short(v)}", c) for i, v, c in terms]
                      ) if terms else None
    values = []
    feats = it.features.loc[pid] if pid in it.features.index else None
    if feats is not None:
        for name, v in feats.items():
            values.append({"indicator": name, "description": it.descriptions.get(name, ""),
                           "value": None if v != v else v,
                           "evidence": view.evidence.get(name, [])})
    past = await run_in_threadpool(decisions.for_person, web.engine, pid)
    return web.render(
        request, "person.html", it=it, pid=pid, row=row, unc=unc, view=view, chart=chart,
        values=values, history=web.runs.history(pid), n=len(it.scores),
        decisions=past, can_decide=user.role == DAPST,
        choices=decisions.CHOICES, refer_to=decisions.REFER_TO)


@router.post("/person/{pid}/decision")
@allow(DAPST)
def decide(request: Request, pid: str, decision: str = Form(""), refer_to: str = Form(""),
           rationale: str = Form("")):
    web = request.app.state.web
    it = _known(request, pid)
    if it is None:
        return error_page(request, 404)
    try:
        decisions.record(web.engine, person_id=pid, iteration=it.name, decision=decision,
                         refer_to=refer_to or None, rationale=rationale,
                         user=request.state.principal.name, ip=client_ip(request))
    except UserError as exc:
        return web.render(request, "error.html", 400, status=400, message=str(exc),
                          back=f"/person/{pid}")
    return RedirectResponse(f"/person/{pid}#decisions", status_code=303)
