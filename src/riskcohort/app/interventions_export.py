"""What the DAPST did, as contract v1.1 ``interventions`` rows (issue 17.2, 19.3).

Rows come from the app's own records, so the next iteration's data includes them:

- a decision to **adopt** -> ``dapst_managed`` from the decision's day until the person's next
  plan closure or "do not adopt" decision after it (open while neither has happened);
- a **referral** -> ``marac`` / ``mappa`` / ``other`` (the referral's target), starting on the
  decision's day with no end (the app does not learn when the other agency's process ends);
- each **tactic** of a plan -> the kind in ``plans.TACTIC_KIND`` (DVDS right to ask / to know ->
  ``dvds_disclosure``; checks and ANPR markers -> ``other``), from its start date to its end.

``recorded_at``/``end_recorded_at`` are when the app recorded the start and the end (the
contract's timestamps are local time without a zone, so the app's UTC times are converted to the
machine's local time). Ids are stable (``app-decision-12``, ``app-tactic-3``), so exporting again
replaces rather than duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from riskcohort.app import audit as audit_log
from riskcohort.app.db import decisions
from riskcohort.app.plans import TACTIC_KIND, plans, tactics
from riskcohort.errors import UserError

logger = logging.getLogger(__name__)
COLUMNS = ("intervention_id", "person_id", "kind", "start_date", "end_date", "recorded_at",
           "end_recorded_at")
REFERRAL_KIND = {"marac": "marac", "mappa": "mappa", "other": "other"}


def local_time(iso_utc: str | None) -> str | None:
    """App timestamp (UTC, ``...Z``) -> contract timestamp (local, ``YYYY-MM-DD HH:MM:SS``)."""
    if not iso_utc:
        return None
    t = dt.datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _day(ts: str | None) -> str | None:
    local = local_time(ts)
    return local[:10] if local is not None else None


def interventions(engine: Engine) -> pd.DataFrame:
    """Every intervention the app knows, in the contract's columns (dates as strings)."""
    with engine.connect() as conn:
        decs = [dict(r) for r in conn.execute(select(decisions).order_by(decisions.c.id))
                .mappings()]
        closed = [dict(r) for r in conn.execute(select(plans.c.person_id, plans.c.closed_at)
                  .where(plans.c.closed_at.is_not(None))).mappings()]
        tacs = [dict(r) for r in conn.execute(select(tactics, plans.c.person_id)
                .join(plans, plans.c.id == tactics.c.plan_id).order_by(tactics.c.id))
                .mappings()]
    rows = []
    for d in decs:
        if d["decision"] == "adopt":
            ends = [c["closed_at"] for c in closed
                    if c["person_id"] == d["person_id"] and c["closed_at"] > d["at"]]
            ends += [e["at"] for e in decs if e["person_id"] == d["person_id"]
                     and e["decision"] == "not_adopt" and e["id"] > d["id"]]
            end = min(ends) if ends else None
            rows.append(_row(f"app-decision-{d['id']}", d["person_id"], "dapst_managed",
                             _day(d["at"]), _day(end), d["at"], end))
        elif d["decision"] == "refer":
            rows.append(_row(f"app-decision-{d['id']}", d["person_id"],
                             REFERRAL_KIND.get(d["refer_to"] or "", "other"), _day(d["at"]),
                             None, d["at"], None))
    for t in tacs:
        rows.append(_row(f"app-tactic-{t['id']}", t["person_id"], TACTIC_KIND[t["kind"]],
                         t["start_date"], t["end_date"], t["created_at"], t["ended_at"]))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _row(iid, pid, kind, start, end, recorded, end_recorded) -> dict:
    rec, end_rec = local_time(recorded), local_time(end_recorded)
    if end is not None and end < start:  # ended before a start planned for later: same day
        end = start
    if end_rec is not None and rec is not None and end_rec < rec:
        end_rec = rec
    return {"intervention_id": iid, "person_id": pid, "kind": kind, "start_date": start,
            "end_date": end, "recorded_at": rec, "end_recorded_at": end_rec}


def export(engine: Engine, out: Path, *, actor: str = "cli") -> int:
    """Write the interventions to ``out`` (.csv or .parquet) and audit the export."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"--out {out}: rule the file name ends in .csv or .parquet "
                        f"(e.g. interventions.csv), got {suffix or 'no extension'!r}")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    frame = interventions(engine)
    tmp = out.with_name(f".{out.name}.tmp")
    if suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        typed = frame.copy()
        for c in ("start_date", "end_date"):
            typed[c] = pd.to_datetime(typed[c]).dt.date
        for c in ("recorded_at", "end_recorded_at"):
            typed[c] = pd.to_datetime(typed[c])
        typed.to_parquet(tmp, index=False)
    tmp.replace(out)  # whole file or nothing
    audit_log.append(engine, actor, "interventions_export", str(out.name), "",
                     {"rows": len(frame), "file": out.name})
    logger.info("wrote %d interventions to %s", len(frame), out)
    return len(frame)
