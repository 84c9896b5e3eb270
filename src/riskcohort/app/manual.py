"""Manual additions (issue 19.5): a DAPST user adds a person the model did not put in the cohort.

The reason is required (10-4000 characters, e.g. "MARAC referral from the IDVA service"); the
row is sealed in the audit chain (action ``manual_add``). Manually added people stay in the
cohort list, marked "manual", in every later iteration, and are counted in the decision audit.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, select
from sqlalchemy.engine import Engine

from riskcohort.app import audit as audit_log
from riskcohort.app.db import inserted_id, metadata
from riskcohort.app.plans import FormError

manual_additions = Table(
    "manual_additions", metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", String(128), nullable=False, index=True),
    Column("iteration", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("audit_id", Integer, nullable=True),
)
audit_log.register_sealed(manual_additions)


def ids(engine: Engine) -> set[str]:
    """Everyone added manually (any iteration)."""
    with engine.connect() as conn:
        return set(conn.execute(select(manual_additions.c.person_id).distinct()).scalars())


def for_person(engine: Engine, person_id: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(manual_additions).where(
            manual_additions.c.person_id == person_id).order_by(manual_additions.c.id))
            .mappings()]


def add(engine: Engine, it, *, person_id: str, reason: str, user: str, ip: str) -> None:
    """Add one scored person outside the cohort, with a reason (sealed)."""
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 4000:
        raise FormError("reason", f"Reason: 10 to 4000 characters needed (you typed "
                        f"{len(reason)})")
    if bool(it.scores.loc[person_id, "in_cohort"]):
        raise FormError("reason", "This person is already in the cohort.")
    if person_id in ids(engine):
        raise FormError("reason", "This person has already been added manually.")
    with engine.begin() as conn:
        rid = inserted_id(conn.execute(manual_additions.insert().values(
            person_id=person_id, iteration=it.name, reason=reason, user_name=user,
            at=audit_log.now_iso())))
        audit_log.seal_row(conn, manual_additions, rid, actor=user, action="manual_add", ip=ip,
                           target=person_id, detail={"iteration": it.name, "reason": reason})


def with_manual(it, df, manual_ids: set[str]):
    """The cohort rows plus manually added people outside it, in rank order."""
    import pandas as pd

    if not manual_ids:
        return df
    extra = it.table[it.table["person_id"].isin(manual_ids) & ~it.table["in_cohort"].astype(bool)]
    if extra.empty:
        return df
    return pd.concat([df, extra]).sort_values("rank", kind="stable").reset_index(drop=True)
