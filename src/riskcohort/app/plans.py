"""DAPST plans, tactics and reviews (issue 19.3): the casework that follows an adoption.

A plan belongs to one adopted person and one team, has an owner and a next review date, and holds
tactics from a controlled list (:data:`TACTICS`). A review records progress and either continues
the plan (new review date) or closes it with an exit reason (:data:`EXIT_REASONS`); closing a
plan ends its open tactics on the same day. Every insert and update is sealed into the keyed
audit chain in the same transaction (``audit.seal_row``), so ``riskcohort audit verify`` notices a
plan, tactic or review changed behind the app's back.

Each tactic maps to a contract v1.1 intervention kind (:data:`TACTIC_KIND`); the export lives in
``interventions_export``.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Column, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Engine

from riskcohort.app import audit as audit_log
from riskcohort.app.db import decisions, inserted_id, metadata
from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

plans = Table(
    "plans", metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", String(128), nullable=False, index=True),
    Column("team", String(64), nullable=False, index=True),
    Column("owner", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("next_review", String(10), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("last_review_at", String(40), nullable=True),
    Column("closed_at", String(40), nullable=True),
    Column("exit_reason", String(32), nullable=True),
    Column("audit_id", Integer, nullable=True),
)
tactics = Table(
    "tactics", metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("other_text", String(200), nullable=True),
    Column("start_date", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("review_date", String(10), nullable=False),
    Column("note", Text, nullable=False),
    Column("end_date", String(10), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("ended_at", String(40), nullable=True),
    Column("audit_id", Integer, nullable=True),
)
plan_reviews = Table(
    "plan_reviews", metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer, nullable=False, index=True),
    Column("progress", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # continue | close
    Column("exit_reason", String(32), nullable=True),
    Column("next_review", String(10), nullable=True),
    Column("user_name", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("audit_id", Integer, nullable=True),
)
for _t in (plans, tactics, plan_reviews):
    audit_log.register_sealed(_t)

#: controlled list of tactics: code -> what the officer sees
TACTICS = {
    "daily_checks": "Daily checks",
    "weekly_checks": "Weekly checks",
    "dvpn": "DVPN application (Domestic Violence Protection Notice)",
    "dvpo": "DVPO application (Domestic Violence Protection Order)",
    "dapo": "DAPO (Domestic Abuse Protection Order)",
    "spo": "Stalking protection order",
    "dvds_right_to_ask": "DVDS disclosure: right to ask",
    "dvds_right_to_know": "DVDS disclosure: right to know",
    "marac": "MARAC referral",
    "mappa": "MAPPA referral",
    "matac": "MATAC referral",
    "perpetrator_programme": "Perpetrator programme referral",
    "voo": "Violent offender order",
    "anpr_marker": "ANPR marker",
    "other": "Other (describe)",
}
#: tactic -> contract v1.1 intervention kind. Checks and ANPR markers are part of the team's
#: own management, which the adoption's ``dapst_managed`` row already records: they are exported
#: as ``other`` so a management period is not counted twice.
TACTIC_KIND = {
    "daily_checks": "other", "weekly_checks": "other", "dvpn": "dvpn", "dvpo": "dvpo",
    "dapo": "dapo", "spo": "spo", "dvds_right_to_ask": "dvds_disclosure",
    "dvds_right_to_know": "dvds_disclosure", "marac": "marac", "mappa": "mappa",
    "matac": "matac", "perpetrator_programme": "perpetrator_programme", "voo": "voo",
    "anpr_marker": "other", "other": "other",
}
TACTIC_STATUS = {"planned": "Planned", "active": "Active", "completed": "Completed",
                 "stopped": "Stopped"}
ENDED = ("completed", "stopped")
EXIT_REASONS = {"risk_reduced": "Risk reduced", "in_custody": "In custody",
                "moved_out_of_area": "Moved out of area", "died": "Died", "other": "Other"}
OUTCOMES = {"continue": "Continue the plan", "close": "Close the plan"}


class FormError(UserError):
    """A rejected form field: ``field`` names the input the message belongs beside."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def parse_date(value: str, field: str) -> str:
    """A ``YYYY-MM-DD`` date from a form, or a :class:`FormError` naming the field."""
    value = (value or "").strip()
    try:
        return dt.date.fromisoformat(value).isoformat() if len(value) == 10 else _bad()
    except ValueError:
        name = FIELD_WORDS.get(field, field.replace("_", " ").capitalize())
        raise FormError(field, f"{name}: a date as YYYY-MM-DD is needed, e.g. 2026-03-01 "
                        f"(got {value[:20]!r})") from None


def _bad():
    raise ValueError


FIELD_WORDS = {"other_text": "If other: what", "next_review": "Review date",
               "start_date": "Start date", "review_date": "Review date"}


def _text(value: str, field: str, lo: int, hi: int) -> str:
    value = (value or "").strip()
    if not lo <= len(value) <= hi:
        name = FIELD_WORDS.get(field, field.replace("_", " ").capitalize())
        raise FormError(field, f"{name}: {lo} to {hi} characters needed "
                        f"(you typed {len(value)})")
    return value


def is_adopted(engine: Engine, person_id: str) -> bool:
    """True if the person's latest decision (any iteration) is to adopt."""
    with engine.connect() as conn:
        last = conn.execute(select(decisions.c.decision).where(
            decisions.c.person_id == person_id).order_by(decisions.c.id.desc()).limit(1)
        ).scalar()
    return last == "adopt"


def open_plan(engine: Engine, person_id: str) -> dict | None:
    """The person's open plan, if any."""
    with engine.connect() as conn:
        row = conn.execute(select(plans).where(plans.c.person_id == person_id,
                                               plans.c.status == "open")
                           .order_by(plans.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def create_plan(engine: Engine, *, person_id: str, team: str, owner: str, next_review: str,
                user: str, ip: str) -> int:
    """Open a plan for an adopted person (one open plan per person)."""
    team = _text(team, "team", 1, 64)
    owner = _text(owner, "owner", 1, 64)
    next_review = parse_date(next_review, "next_review")
    if not is_adopted(engine, person_id):
        raise FormError("owner", "plan: rule only for a person whose latest decision is "
                        "'adopt' - record the adoption first")
    if open_plan(engine, person_id):
        raise FormError("owner", "plan: rule one open plan per person - review or close the "
                        "open plan")
    with engine.begin() as conn:
        pid = inserted_id(conn.execute(plans.insert().values(
            person_id=person_id, team=team, owner=owner, status="open",
            next_review=next_review, created_by=user, created_at=audit_log.now_iso())
        ))
        audit_log.seal_row(conn, plans, pid, actor=user, action="plan_create", ip=ip,
                           target=person_id, detail={"team": team, "owner": owner,
                                                     "next_review": next_review})
    return int(pid)


def add_tactic(engine: Engine, *, plan_id: int, kind: str, other_text: str, start_date: str,
               status: str, review_date: str, note: str, user: str, ip: str) -> int:
    """Add a tactic from the controlled list to an open plan."""
    if kind not in TACTICS:
        raise FormError("kind", f"tactic: rule one of the listed tactics (got {kind[:40]!r})")
    other_text = (other_text or "").strip()
    if kind == "other":
        other_text = _text(other_text, "other_text", 3, 200)
    start_date = parse_date(start_date, "start_date")
    review_date = parse_date(review_date, "review_date")
    if status not in TACTIC_STATUS:
        raise FormError("status", "status: rule one of planned, active, completed, stopped")
    note = _text(note, "note", 0, 4000)
    with engine.begin() as conn:
        plan = conn.execute(select(plans).where(plans.c.id == plan_id)).mappings().first()
        if plan is None or plan["status"] != "open":
            raise FormError("kind", "tactic: rule the plan must be open")
        now = audit_log.now_iso()
        ended = status in ENDED
        tid = inserted_id(conn.execute(tactics.insert().values(
            plan_id=plan_id, kind=kind, other_text=other_text or None, start_date=start_date,
            status=status, review_date=review_date, note=note,
            end_date=max(start_date, now[:10]) if ended else None, created_by=user,
            created_at=now, ended_at=now if ended else None)))
        audit_log.seal_row(conn, tactics, tid, actor=user, action="tactic_add", ip=ip,
                           target=plan["person_id"],
                           detail={"plan": plan_id, "kind": kind, "status": status,
                                   "start_date": start_date, "review_date": review_date})
    return int(tid)


def set_tactic_status(engine: Engine, *, tactic_id: int, status: str, user: str,
                      ip: str) -> str:
    """Change a tactic's status; completing or stopping it records its end. Returns person id."""
    if status not in TACTIC_STATUS:
        raise FormError("status", "status: rule one of planned, active, completed, stopped")
    with engine.begin() as conn:
        row = conn.execute(select(tactics, plans.c.person_id, plans.c.status.label("pstatus"))
                           .join(plans, plans.c.id == tactics.c.plan_id)
                           .where(tactics.c.id == tactic_id)).mappings().first()
        if row is None or row["pstatus"] != "open":
            raise FormError("status", "tactic: rule it must belong to an open plan")
        values = {"status": status}
        if status in ENDED and row["end_date"] is None:
            now = audit_log.now_iso()
            values.update(end_date=max(row["start_date"], now[:10]), ended_at=now)
        conn.execute(update(tactics).where(tactics.c.id == tactic_id).values(**values))
        audit_log.seal_row(conn, tactics, tactic_id, actor=user, action="tactic_update", ip=ip,
                           target=row["person_id"], detail={"status": status})
    return row["person_id"]


def review_plan(engine: Engine, *, plan_id: int, progress: str, outcome: str,
                next_review: str, exit_reason: str, user: str, ip: str) -> None:
    """Record a review: continue with a new review date, or close with an exit reason."""
    progress = _text(progress, "progress", 10, 4000)
    if outcome not in OUTCOMES:
        raise FormError("outcome", "outcome: rule continue or close")
    review_on: str | None = None  # a plan that continues has a next review date...
    reason: str | None = None  # ...a closed one an exit reason, never both
    if outcome == "continue":
        review_on = parse_date(next_review, "next_review")
    else:
        if exit_reason not in EXIT_REASONS:
            raise FormError("exit_reason", "exit reason: rule one of risk reduced, in custody, "
                            "moved out of area, died, other")
        reason = exit_reason
    with engine.begin() as conn:
        plan = conn.execute(select(plans).where(plans.c.id == plan_id)).mappings().first()
        if plan is None or plan["status"] != "open":
            raise FormError("progress", "review: rule the plan must be open")
        now = audit_log.now_iso()
        rid = inserted_id(conn.execute(plan_reviews.insert().values(
            plan_id=plan_id, progress=progress, outcome=outcome, exit_reason=reason,
            next_review=review_on, user_name=user, at=now)))
        audit_log.seal_row(conn, plan_reviews, rid, actor=user, action="plan_review", ip=ip,
                           target=plan["person_id"],
                           detail={"plan": plan_id, "outcome": outcome,
                                   "exit_reason": reason, "next_review": review_on})
        values: dict[str, str | None] = {"last_review_at": now}
        if outcome == "continue":
            values["next_review"] = review_on
        else:
            values.update(status="closed", closed_at=now, exit_reason=reason)
            open_ids = conn.execute(select(tactics.c.id, tactics.c.start_date).where(
                tactics.c.plan_id == plan_id, tactics.c.end_date.is_(None))).all()
            for tid, start in open_ids:
                conn.execute(update(tactics).where(tactics.c.id == tid).values(
                    status="stopped" if start > now[:10] else "completed",
                    end_date=max(start, now[:10]), ended_at=now))
                audit_log.seal_row(conn, tactics, tid, actor=user, action="tactic_update",
                                   ip=ip, target=plan["person_id"],
                                   detail={"status": "ended with the plan"})
        conn.execute(update(plans).where(plans.c.id == plan_id).values(**values))
        audit_log.seal_row(conn, plans, plan_id, actor=user,
                           action="plan_close" if outcome == "close" else "plan_update",
                           ip=ip, target=plan["person_id"], detail=values)


def for_person(engine: Engine, person_id: str) -> list[dict]:
    """Every plan of a person (newest first) with its tactics and reviews."""
    with engine.connect() as conn:
        ps = [dict(r) for r in conn.execute(select(plans).where(
            plans.c.person_id == person_id).order_by(plans.c.id.desc())).mappings()]
        for p in ps:
            p["tactics"] = [dict(r) for r in conn.execute(select(tactics).where(
                tactics.c.plan_id == p["id"]).order_by(tactics.c.id)).mappings()]
            p["reviews"] = [dict(r) for r in conn.execute(select(plan_reviews).where(
                plan_reviews.c.plan_id == p["id"]).order_by(plan_reviews.c.id.desc())
            ).mappings()]
    return ps


def overdue(engine: Engine, today: str | None = None, team: str = "") -> list[dict]:
    """Open plans whose review date has passed, most overdue first (optionally one team)."""
    today = today or dt.date.today().isoformat()
    q = select(plans).where(plans.c.status == "open", plans.c.next_review < today)
    if team:
        q = q.where(plans.c.team == team)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q.order_by(plans.c.next_review, plans.c.id))
                .mappings()]
    for r in rows:
        r["days_overdue"] = (dt.date.fromisoformat(today)
                             - dt.date.fromisoformat(r["next_review"])).days
    return rows


def teams(engine: Engine) -> list[str]:
    """Teams that have open plans."""
    with engine.connect() as conn:
        return sorted(conn.execute(select(plans.c.team).where(plans.c.status == "open")
                                   .distinct()).scalars())
