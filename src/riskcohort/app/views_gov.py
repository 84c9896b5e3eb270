"""Model, governance and audit pages (read-only).

metrics.json is written by ``modelling.metrics.evaluate`` (``scores -> system -> metric ->
{value, lo, hi}``); it is read defensively so a layout change shows less, never crashes a page.
report.html (the governance pack) is served as-is inside a sandboxed frame: its scripts cannot
run and it cannot reach the app's cookies or forms.
"""

from __future__ import annotations

import csv
import json
import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from riskcohort.app import audit as audit_log
from riskcohort.app.charts import bars
from riskcohort.app.policy import ANALYST, GOVERNANCE, allow
from riskcohort.app.web import error_page, int_param

router = APIRouter()
DATE_RULE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ACTIONS = ("login", "login_failed", "login_throttled", "logout", "view_person", "view_cohort",
           "export", "decision", "user_add", "user_disable", "audit_keyed", "seal_existing",
           # casework (views_casework, plans, interventions_export)
           "view_plan", "view_overdue", "plan_create", "tactic_add", "tactic_update",
           "plan_review", "plan_update", "plan_close", "interventions_export", "alert_ack",
           "manual_add")


def metric_table(metrics: dict) -> tuple[list[str], list[dict]]:
    """(systems, rows) where each row is a metric with (value, lo, hi) per system.

    >>> metric_table({"scores": {"model": {"auc": {"value": 0.8, "lo": 0.7, "hi": 0.9}}}})
    (['model'], [{'metric': 'auc', 'model': (0.8, 0.7, 0.9)}])
    """
    block = metrics.get("scores") or metrics.get("systems") or {}
    if not isinstance(block, dict):
        return [], []
    systems = [s for s, v in block.items() if isinstance(v, dict)]
    names: list[str] = []
    for s in systems:
        names += [m for m in block[s] if m not in names]
    rows = []
    for m in names:
        row = {"metric": m}
        for s in systems:
            v = block[s].get(m)
            if isinstance(v, dict):
                v = (v.get("value"), v.get("lo"), v.get("hi"))
            elif isinstance(v, int | float):
                v = (v, None, None)
            else:
                v = None
            row[s] = v
        rows.append(row)
    return systems, rows


def metrics_context(metrics: dict) -> dict:
    """Template context for _metrics.html: systems, differences vs the model, cautions."""
    systems, rows = metric_table(metrics)
    diff_systems, diff_rows = metric_table({"scores": metrics.get("differences") or {}})
    cautions = [str(c) for c in metrics.get("cautions") or [] if isinstance(c, str | int | float)]
    population = {k: f"{metrics[k]:.4g}" if isinstance(metrics[k], float) else metrics[k]
                  for k in ("n", "positives", "base_rate", "reference")
                  if isinstance(metrics.get(k), str | int | float)}
    return {"systems": systems, "rows": rows, "diff_systems": diff_systems,
            "diff_rows": diff_rows, "cautions": cautions, "population": population}


def read_table(path, limit: int = 200) -> list[list[str]]:
    """A small CSV as rows of strings (header first)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [row for _, row in zip(range(limit + 1), csv.reader(fh), strict=False)]


@router.get("/model")
@allow(ANALYST, GOVERNANCE)
def model(request: Request):
    web = request.app.state.web
    it = web.runs.current
    imp = (it.contributions.assign(a=it.contributions["contribution"].abs())
           .groupby("indicator")["a"].mean().sort_values(ascending=False).head(15))
    iterations = [{"name": i.name, "as_of": i.as_of, "n": len(i.scores),
                   "cohort": int(i.scores["in_cohort"].sum()),
                   "created": i.manifest.get("created_at", "")} for i in web.runs.iterations]
    from riskcohort.app.standing import model_standing

    return web.render(request, "model.html", it=it, importance=bars(list(imp.items())),
                      standing=model_standing(it),
                      iterations=iterations, **metrics_context(it.metrics),
                      manifest=json.dumps(it.manifest, indent=2, sort_keys=True, default=str))


@router.get("/governance")
@allow(ANALYST, GOVERNANCE)
def governance(request: Request):
    web = request.app.state.web
    it = web.runs.current
    tables = [(p.relative_to(it.root).as_posix(), read_table(p)) for p in it.fairness]
    from riskcohort.app.decision_audit import decision_audit  # issue 19.6

    return web.render(request, "governance.html", it=it, fairness=tables,
                      decision_audit=decision_audit(web.engine, it),
                      has_report=it.report is not None, **metrics_context(it.metrics))


@router.get("/governance/report")
@allow(ANALYST, GOVERNANCE)
def report(request: Request):
    it = request.app.state.web.runs.current
    if it.report is None:
        return error_page(request, 404)
    return FileResponse(it.report, media_type="text/html", headers={
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
                                   "style-src 'unsafe-inline'; frame-ancestors 'self'"})


@router.get("/audit")
@allow(GOVERNANCE)
def audit(request: Request):
    web = request.app.state.web
    q = request.query_params
    f = {k: (q.get(k) or "")[:64] for k in ("actor", "action", "target", "date_from", "date_to")}
    f["action"] = f["action"] if f["action"] in ACTIONS else ""
    for k in ("date_from", "date_to"):
        f[k] = f[k] if DATE_RULE.match(f[k]) else ""
    page = int_param(request, "page")
    rows = audit_log.query(web.engine, **f, limit=101, offset=(page - 1) * 100)
    return web.render(request, "audit.html", rows=rows[:100], more=len(rows) > 100, f=f,
                      page=page, actions=ACTIONS)
