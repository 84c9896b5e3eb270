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


def _known(request: Request, pid: str):
    it = request.app.state.web.runs.current
    return it if PID_RULE.match(pid) and pid in it.scores.index else None


@router.get("/person/{pid}")
@allow(*READERS)
async def person(request: Request, pid: str):
    """Async like the cohort page; the explain stage (model, SHAP) runs in the thread pool."""
    it = _known(request, pid)
    if it is None:
        return error_page(request, 404)
    return await _render(request, it, pid)


DONE = {"decision": "Decision recorded."}
#: decisions.record's message prefix -> the form field it belongs beside
FIELDS = {"decision": "decision", "referral": "refer_to", "rationale": "rationale"}


async def _render(request: Request, it, pid: str, code: int = 200, values: dict | None = None,
                  error: dict | None = None):
    """The person page; a refused decision comes back with what was typed (``values``) and the
    error beside its field. Audited before anything about the person is rendered."""
    web = request.app.state.web
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
    if web.settings.use_explain and (it.root / "model" / "model.txt").exists():
        view = await run_in_threadpool(person_view, it, pid, True)
    else:
        view = person_view(it, pid, False)
    chart = (waterfall(view.base_probability, view.chart_items, final=float(row["score"]))
             if view.chart_items and view.base_probability is not None else None)
    past = await run_in_threadpool(decisions.for_person, web.engine, pid)
    from riskcohort.app.victims import victims_for  # casework: victims at risk (issue 19.1)

    victims = await run_in_threadpool(victims_for, it, pid)
    from riskcohort.display import percent

    first = first_screen(it, pid, row)
    first["base"] = percent(view.base_probability, missing="not recorded")
    history = [{**h, "score_text": percent(h["score"])} for h in web.runs.history(pid)]
    return web.render(
        request, "person.html", code, it=it, pid=pid, row=row, unc=unc, view=view, chart=chart,
        values=indicator_rows(it, pid, view), history=history, n=len(it.scores),
        decisions=past, can_decide=user.role == DAPST, first=first, victims=victims,
        choices=decisions.CHOICES, refer_to=decisions.REFER_TO,
        done=DONE.get(request.query_params.get("done", "")) if code == 200 else None,
        v=values or {}, error=error)


#: evidence record keys -> the words a reader sees
EVIDENCE_HEADINGS = {"table": "Source", "record_id": "Record", "recorded_at": "Recorded",
                     "kind": "Kind", "victim_id": "Victim", "occurred_at": "Happened",
                     "indicator": "Indicator"}


def indicator_rows(it, pid: str, view) -> list[dict]:
    """Every indicator of the person with its readable name, rounded value and records."""
    from riskcohort.app.explain_adapter import _labels
    from riskcohort.explain.labels import format_value, readable_name

    feats = it.features.loc[pid] if pid in it.features.index else None
    if feats is None:
        return []
    labels = _labels(tuple(sorted(feats.index)))
    out = []
    for name, v in feats.items():
        lab = labels[name]
        records = [{EVIDENCE_HEADINGS.get(k, k.replace("_", " ").capitalize()): val
                    for k, val in rec.items()} for rec in view.evidence.get(name, [])]
        out.append({"indicator": name, "description": readable_name(lab),
                    "value": format_value(None if v != v else float(v), lab.unit),
                    "evidence": records})
    return out


def first_screen(it, pid: str, row) -> dict:
    """What the top of the page says: score and interval as percentages, rank with tie mark,
    how many share it, band classes and custody in words."""
    from riskcohort.app.views_cohort import band_classes, custody_frame, rank_text
    from riskcohort.display import percent
    from riskcohort.explain.person import custody_text

    rank = int(row["rank"])
    tied = bool(row.get("tied")) if "tied" in row.index and row.get("tied") == row.get(
        "tied") else False
    sharing = int((it.scores["rank"] == rank).sum()) if tied else 1
    c = custody_frame(it, [pid]).iloc[0]
    days = None if c["days"] != c["days"] else int(round(c["days"]))
    held = None if c["held"] is None or c["held"] != c["held"] else bool(c["held"])
    lo, hi = (row.get(c) for c in ("score_lo", "score_hi"))
    interval = (f"{percent(lo)} to {percent(hi)}" if lo is not None and hi is not None
                and lo == lo and hi == hi else None)
    floors = [f for f in it.band_floor.values() if f == f and f > 0]
    crosses = bool(interval) and any(float(lo) < f <= float(hi) for f in floors)
    return {"score": percent(row["score"]), "rank": rank_text(rank, tied), "tied": tied,
            "band_may_change": crosses,
            "interval": interval, "raw": f"{float(row['score']):.3g}",
            "sharing": sharing, "band_css": band_classes(it).get(str(row["band"]), "band"),
            "custody": custody_text(held, days, it.as_of), "held": held,
            "custody_words": c["custody"]}


@router.post("/person/{pid}/decision")
@allow(DAPST)
async def decide(request: Request, pid: str, decision: str = Form(""), refer_to: str = Form(""),
                 rationale: str = Form("")):
    web = request.app.state.web
    it = _known(request, pid)
    if it is None:
        return error_page(request, 404)
    try:
        await run_in_threadpool(
            decisions.record, web.engine, person_id=pid, iteration=it.name, decision=decision,
            refer_to=refer_to or None, rationale=rationale, user=request.state.principal.name,
            ip=client_ip(request))
    except UserError as exc:
        field = FIELDS.get(str(exc).split(":", 1)[0], "decision")
        return await _render(request, it, pid, 400,
                             {"decision": decision, "refer_to": refer_to,
                              "rationale": rationale},
                             {"field": field, "text": decision_error(field, rationale)})
    return RedirectResponse(f"/person/{pid}?done=decision#decisions", status_code=303)


def decision_error(field: str, rationale: str) -> str:
    """The refused field in plain words (shown beside it).

    >>> decision_error("rationale", "short")
    'Rationale: 10 to 4000 characters needed (you typed 5).'
    """
    if field == "refer_to":
        return "Referral: choose who to refer to (MARAC, MAPPA or other)."
    if field == "rationale":
        return (f"Rationale: 10 to 4000 characters needed (you typed "
                f"{len((rationale or '').strip())}).")
    return "Decision: choose adopt, do not adopt or refer."
