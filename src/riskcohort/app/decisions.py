"""Review decisions: recorded with user and time (audited in the same transaction), and the
latest decision per person as the cohort page's review status."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from riskcohort.app import audit as audit_log
from riskcohort.app.db import decisions, inserted_id
from riskcohort.errors import UserError

CHOICES = {"adopt": "adopted", "not_adopt": "not adopted", "refer": "referred"}
REFER_TO = {"marac": "MARAC", "mappa": "MAPPA", "other": "other"}
STATUSES = ("not reviewed", *CHOICES.values())


def record(engine: Engine, *, person_id: str, iteration: str, decision: str,
           refer_to: str | None, rationale: str, user: str, ip: str) -> None:
    """Validate and store one decision with its audit row (both or neither)."""
    rationale = (rationale or "").strip()
    if decision not in CHOICES:
        raise UserError("decision: rule one of adopt, not_adopt, refer")
    if decision == "refer" and refer_to not in REFER_TO:
        raise UserError("referral: rule choose MARAC, MAPPA or other")
    if decision != "refer":
        refer_to = None
    if len(rationale) < 10 or len(rationale) > 4000:
        raise UserError("rationale: rule required, 10 to 4000 characters")
    with engine.begin() as conn:  # the decision is sealed into the audit chain (audit.seal_row)
        rid = inserted_id(conn.execute(decisions.insert().values(
            person_id=person_id, iteration=iteration, decision=decision, refer_to=refer_to,
            rationale=rationale, user_name=user, at=audit_log.now_iso())))
        audit_log.seal_row(conn, decisions, rid, actor=user, action="decision",
                           target=person_id, ip=ip,
                           detail={"iteration": iteration, "decision": decision,
                                   "refer_to": refer_to, "rationale": rationale})


def for_person(engine: Engine, person_id: str) -> list[dict]:
    """Every decision on a person across iterations, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(decisions).where(decisions.c.person_id == person_id)
                            .order_by(decisions.c.id.desc())).mappings()
        return [dict(r) for r in rows]


def status_map(engine: Engine, iteration: str) -> dict[str, str]:
    """Latest decision per person in an iteration, as a review status."""
    with engine.connect() as conn:
        rows = conn.execute(select(decisions.c.person_id, decisions.c.decision)
                            .where(decisions.c.iteration == iteration)
                            .order_by(decisions.c.id)).all()
    return {pid: CHOICES[d] for pid, d in rows if d in CHOICES}
