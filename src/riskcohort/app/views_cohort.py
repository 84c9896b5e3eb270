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
         "change": "change", "person": "person_id", "custody": "custody"}
COLUMNS = ["rank", "person_id", "score", "band", "reason1", "reason2", "status", "change",
           "moved", "tied", "custody"]
#: custody filter values -> words on the page
CUSTODY = {"held": "in custody on the scoring date", "free": "not in custody",
           "released": "released in the last year"}


def _column(it, name: str, pids) -> pd.Series:
    """A scores.csv column (else the model's inputs) for ``pids``; NaN where unknown."""
    for frame in (it.scores, it.features):
        if name in frame.columns:
            return frame[name].reindex(pids)
    return pd.Series(float("nan"), index=pids)


def _truth(v) -> bool | None:
    if isinstance(v, str):
        return {"true": True, "1": True, "1.0": True, "false": False, "0": False,
                "0.0": False}.get(v.strip().lower())
    return None if v is None or pd.isna(v) else bool(v)


def custody_frame(it, pids) -> pd.DataFrame:
    """Per person: ``held`` (True/False/None), ``released`` (ISO date of the latest release
    before the scoring date, or ''), ``days`` since that release, and ``custody`` (the words
    the list shows: 'in custody', 'released 2025-05-02', 'unknown' or '')."""
    pids = pd.Index(pids)
    held = _column(it, "in_custody", pids).map(_truth)
    days = pd.to_numeric(_column(it, "days_since_custody_release", pids), errors="coerce")
    when = pd.Timestamp(it.as_of) - pd.to_timedelta(days.round(), unit="D")
    released = when.dt.date.astype(str).where(days.notna(), "")
    words = pd.Series("", index=pids, dtype=object)
    words[released != ""] = "released " + released[released != ""]
    words[held.isna()] = "unknown"
    words[held.eq(True)] = "in custody"
    return pd.DataFrame({"held": held, "released": released, "days": days, "custody": words})


def rank_text(rank, tied) -> str:
    """'12' or '=12' when others share the rank (a tie).

    >>> rank_text(12, True), rank_text(3, False), rank_text(4, None)
    ('=12', '3', '4')
    """
    return f"={int(rank)}" if _truth(tied) else str(int(rank))


def _params(request: Request) -> dict:
    q = request.query_params
    get = lambda k: (q.get(k) or "")[:100]  # noqa: E731
    return {"band": get("band"), "status": get("status"), "q": get("q").strip(),
            "sort": get("sort") if get("sort") in SORTS else "rank",
            "order": "desc" if get("order") == "desc" else "asc",
            "scope": "all" if get("scope") == "all" else "cohort",
            "custody": get("custody") if get("custody") in CUSTODY else "",
            "page": int_param(request, "page")}  # not a whole number >= 1: 400


def cohort_frame(request: Request, p: dict, *, with_status: bool = False) -> pd.DataFrame:
    """The filtered, sorted rows (all pages) for the current iteration.

    Works on the iteration's prebuilt rank-ordered table; the review status (from the database)
    is joined only when filtered or sorted on, or asked for, since decisions are few.
    """
    web = request.app.state.web
    it = web.runs.current
    df = it.cohort_table if p["scope"] == "cohort" else it.table
    if p["scope"] == "cohort":  # people added manually stay in the cohort list (issue 19.5)
        from riskcohort.app.manual import with_manual

        df = with_manual(it, df, getattr(request.state, "manual_ids", set()))
    if p["band"] in it.bands:
        df = df[df["band"] == p["band"]]
    if p["q"]:
        df = df[df["person_id"].str.contains(p["q"], case=False, regex=False, na=False)]
    if p["custody"] or p["sort"] == "custody":
        c = custody_frame(it, df["person_id"])
        keep = {"held": c["held"].eq(True), "free": c["held"].eq(False),
                "released": c["held"].eq(False) & c["days"].le(365)}.get(p["custody"])
        df = df.assign(custody=c["custody"].to_numpy())
        if keep is not None:
            df = df[keep.to_numpy()]
    if with_status or p["status"] in decisions.STATUSES or p["sort"] == "status":
        df = add_status(request, df)
    if p["status"] in decisions.STATUSES:
        df = df[df["status"] == p["status"]]
    if p["sort"] != "rank" or p["order"] != "asc":
        df = df.sort_values([SORTS[p["sort"]], "rank"], ascending=[p["order"] == "asc", True],
                            kind="stable")
    return df


def with_display(it, df: pd.DataFrame) -> pd.DataFrame:
    """Add ``custody`` words and ``tied`` (False when the run has no tie column) to rows."""
    if "custody" not in df.columns:
        df = df.assign(custody=custody_frame(it, df["person_id"])["custody"].to_numpy())
    if "tied" not in df.columns:
        df = df.assign(tied=False)
    return df


def band_legend(it) -> list[dict]:
    """The configured bands, highest risk first: name, lower cut-off and CSS classes.

    Classes come from the configured names (``band-<name>``) and the band's position
    (``band-r1`` highest ... ``band-lowest``), so any set of band names gets distinct styles.
    """
    from riskcohort.display import percent

    n = len(it.bands)
    out = []
    above = None
    for i, b in enumerate(it.bands):
        floor = it.band_floor.get(b)
        floor = None if floor is None or floor != floor or floor <= 0 else float(floor)
        css = f"band {band_css(b)} band-r{i + 1}" + (" band-lowest" if i == n - 1 else "")
        text = (f"{percent(floor)} to {percent(above)}" if floor is not None and above
                else f"{percent(floor)} and above" if floor is not None
                else f"below {percent(above)}" if above else "")
        out.append({"name": b, "css": css, "floor": floor, "range": text})
        above = floor if floor is not None else above
    return out


def band_css(name) -> str:
    """CSS class of a band: 'band-' + the configured name in lower case with dashes.

    >>> band_css("Very high"), band_css("elevated")
    ('band-very-high', 'band-elevated')
    """
    return "band-" + "-".join(str(name).lower().split())


def band_classes(it) -> dict[str, str]:
    """Band name -> its CSS classes (see :func:`band_legend`)."""
    return {b["name"]: b["css"] for b in band_legend(it)}


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
    from riskcohort.app import manual

    request.state.manual_ids = await run_in_threadpool(manual.ids, web.engine)
    df = cohort_frame(request, p)
    size = web.settings.page_size
    pages = max(1, -(-len(df) // size))
    p["page"] = min(p["page"], pages)
    page = df.iloc[(p["page"] - 1) * size: p["page"] * size]
    it = web.runs.current
    rows = with_display(it, page if "status" in page else add_status(request, page))[
        COLUMNS].to_dict("records")
    from riskcohort.display import percent

    css = band_classes(it)
    for r in rows:
        r["rank_text"] = rank_text(r["rank"], r["tied"])
        r["band_css"] = css.get(str(r["band"]), "band")
        r["score_text"] = percent(r["score"])
        r["manual"] = r["person_id"] in request.state.manual_ids
    try:  # list views show rank, score and reasons of many people: audited like a person page
        await run_in_threadpool(
            audit_log.append, web.engine, request.state.principal.name, "view_cohort", "cohort",
            client_ip(request), {"iteration": it.name, "page": p["page"], "rows": len(rows),
                                 "total": len(df), **{k: p[k] for k in (
                                     "band", "status", "q", "sort", "order", "scope",
                                     "custody")}})
    except Exception:
        return error_page(request, 503)
    from riskcohort.app.alerts import landing_alerts  # casework alerts (issue 19.4)

    alerts = await run_in_threadpool(landing_alerts, web, request.state.principal)
    return web.render(request, "cohort.html", it=it, rows=rows, p=p, total=len(df), pages=pages,
                      alerts=alerts,
                      statuses=decisions.STATUSES, sorts=list(SORTS),
                      previous=web.runs.previous, custody_choices=CUSTODY,
                      legend=band_legend(it))


def _safe(v) -> str:
    """Neutralise spreadsheet formulas in exported cells (CSV injection)."""
    s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


@router.get("/cohort.csv")
@allow(*READERS)
def export(request: Request):
    web = request.app.state.web
    p = _params(request)
    from riskcohort.app import manual

    request.state.manual_ids = manual.ids(web.engine)
    df = with_display(web.runs.current, cohort_frame(request, p, with_status=True))[COLUMNS]
    user = request.state.principal
    filters = {k: p[k] for k in ("band", "status", "q", "sort", "order", "scope", "custody")}
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
