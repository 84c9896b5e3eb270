"""Cohort page and CSV export: the ranked list of the current iteration, filtered and sorted.

Filter values are user input: they are matched against known values (bands, statuses, sort
keys) or used as a plain substring, never as code or SQL; unknown values mean "no filter".
The export contains exactly the columns the page shows and is audited with its filters.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from riskcohort.app import audit as audit_log
from riskcohort.app import decisions
from riskcohort.app.policy import READERS, allow
from riskcohort.app.web import client_ip, error_page, int_param

router = APIRouter()
SORTS = {"rank": "rank", "score": "score", "band": "band_order", "status": "status",
         "change": "change", "person": "person_id"}
COLUMNS = ["rank", "person_id", "score", "band", "reason1", "reason2", "status", "change",
           "moved"]


def _params(request: Request) -> dict:
    q = request.query_params
    get = lambda k: (q.get(k) or "")[:100]  # noqa: E731
    return {"band": get("band"), "status": get("status"), "q": get("q").strip(),
            "sort": get("sort") if get("sort") in SORTS else "rank",
            "order": "desc" if get("order") == "desc" else "asc",
            "scope": "all" if get("scope") == "all" else "cohort",
            "page": int_param(request, "page")}  # not a whole number >= 1: 400


def cohort_frame(request: Request, p: dict, *, with_status: bool = False) -> pd.DataFrame:
    """The filtered, sorted rows (all pages) for the current iteration.

    Works on the iteration's prebuilt rank-ordered table; the review status (from the database)
    is joined only when filtered or sorted on, or asked for, since decisions are few.
    """
    web = request.app.state.web
    it = web.runs.current
    df = it.cohort_table if p["scope"] == "cohort" else it.table
    if p["band"] in it.bands:
        df = df[df["band"] == p["band"]]
    if p["q"]:
        df = df[df["person_id"].str.contains(p["q"], case=False, regex=False, na=False)]
    if with_status or p["status"] in decisions.STATUSES or p["sort"] == "status":
        df = add_status(request, df)
    if p["status"] in decisions.STATUSES:
        df = df[df["status"] == p["status"]]
    if p["sort"] != "rank" or p["order"] != "asc":
        df = df.sort_values([SORTS[p["sort"]], "rank"], ascending=[p["order"] == "asc", True],
                            kind="stable")
    return df


def add_status(request: Request, df: pd.DataFrame) -> pd.DataFrame:
    """Join the latest decision of each person in the current iteration as ``status``."""
    web = request.app.state.web
    status = getattr(request.state, "status_map", None)
    if status is None:
        status = decisions.status_map(web.engine, web.runs.current.name)
    return df.assign(status=df["person_id"].map(status).fillna("not reviewed"))


@router.get("/cohort")
@allow(*READERS)
async def cohort(request: Request):
    """Async on purpose: a few ms of in-memory work, run to completion on the event loop
    (thread-pool interleaving under the GIL stretched every page's latency under load)."""
    web = request.app.state.web
    p = _params(request)
    # Database work off the event loop (a held write lock must not stall other requests).
    request.state.status_map = await run_in_threadpool(
        decisions.status_map, web.engine, web.runs.current.name)
    df = cohort_frame(request, p)
    size = web.settings.page_size
    pages = max(1, -(-len(df) // size))
    p["page"] = min(p["page"], pages)
    page = df.iloc[(p["page"] - 1) * size: p["page"] * size]
    rows = (page if "status" in page else add_status(request, page))[COLUMNS].to_dict("records")
    it = web.runs.current
    try:  # list views show rank, score and reasons of many people: audited like a person page
        await run_in_threadpool(
            audit_log.append, web.engine, request.state.principal.name, "view_cohort", "cohort",
            client_ip(request), {"iteration": it.name, "page": p["page"], "rows": len(rows),
                                 "total": len(df), **{k: p[k] for k in (
                                     "band", "status", "q", "sort", "order", "scope")}})
    except Exception:
        return error_page(request, 503)
    return web.render(request, "cohort.html", it=it, rows=rows, p=p, total=len(df), pages=pages,
                      statuses=decisions.STATUSES, sorts=list(SORTS),
                      previous=web.runs.previous)


def _safe(v) -> str:
    """Neutralise spreadsheet formulas in exported cells (CSV injection)."""
    s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


@router.get("/cohort.csv")
@allow(*READERS)
def export(request: Request):
    web = request.app.state.web
    p = _params(request)
    df = cohort_frame(request, p, with_status=True)[COLUMNS]
    user = request.state.principal
    filters = {k: p[k] for k in ("band", "status", "q", "sort", "order", "scope")}
    audit_log.append(web.engine, user.name, "export", "cohort.csv",
                     request.client.host if request.client else "",
                     {"iteration": web.runs.current.name, "rows": len(df), "filters": filters})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for row in df.itertuples(index=False):
        w.writerow([_safe(v) for v in row])
    name = f"cohort-{web.runs.current.name}.csv".replace('"', "")
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
