"""Relationship group: the perpetrator's current or most recent relationship with a victim.

Why: estrangement (especially from a controlling partner), a child in common and contact
conflict, pregnancy and cohabitation shape intimate-partner homicide risk (Campbell et al. 2003;
Monckton-Smith 2020), and familial homicides (son-mother, sibling) follow other patterns than
intimate ones, so the kind is given as one-hot flags.

"Current" relationship at T: among the perpetrator's domestic incidents whose relationship record
is known at T (source ``incidents_rel``), the relationship of the latest by ``occurred_at`` (ties:
the larger relationship id). No such incident => every relationship indicator is NaN (unknown).
A separation is known at T when ``end_date <= T`` and ``end_recorded_at < T``; when the export
has no ``end_recorded_at`` the end is taken as part of the relationship record (known from its
``recorded_at``). Cohabiting is 0 once a separation is known, else the recorded value.
"""

from __future__ import annotations

import ibis

from riskcohort.features.spec import DAY_SECONDS, Count, Escalation, Spec, with_age

DA = (("domestic", True),)

#: flag/value indicators read from the relationship record (evidence: that record when non-zero).
ATTRIBUTES = (
    "rel_intimate",
    "rel_ex_intimate",
    "rel_perp_is_parent",
    "rel_perp_is_child",
    "rel_sibling",
    "rel_separated",
    "rel_days_since_separation",
    "rel_cohabiting",
)
SEPARATION = ("rel_ex_intimate", "rel_separated", "rel_days_since_separation")
#: indicators over the perpetrator's domestic incidents within the current relationship.
INCIDENT_SPECS = (
    Count("rel_da_count", "incidents_rel", DA),
    Count("rel_da_count_365d", "incidents_rel", DA, (365, 0)),
    Escalation("rel_escalation", "incidents_rel", DA),
)
#: assessments of the perpetrator against the other party of the relationship, answered yes.
ASSESSMENT_SPECS = (
    Count("rel_pregnancy_infant", "assessments", (("q_pregnancy_infant", True),)),
    Count("rel_child_contact_conflict", "assessments", (("q_child_contact_conflict", True),)),
)
NAMES = (*ATTRIBUTES, *(s.name for s in INCIDENT_SPECS), *(s.name for s in ASSESSMENT_SPECS))


def current(pop: ibis.Table, inc_rel: ibis.Table, relationships: ibis.Table) -> ibis.Table:
    """(person_id, as_of, rel_id, other, attributes) for persons with a known relationship."""
    j = pop.join(inc_rel, [pop.person_id == inc_rel.subject, inc_rel.known_at < pop.as_of])
    j = j.filter(j.domestic.fill_null(False), j.event_at < j.as_of)
    # latest incident wins; ties broken by the larger relationship id (a struct compares
    # field by field), so the choice is deterministic
    key = ibis.struct({"at": j.event_at, "rel": j.relationship_id})
    cur = j.group_by("rid").aggregate(rel_id=j.relationship_id.argmax(key))
    cur = cur.join(pop, "rid")  # group by the integer only, then fetch person and date
    r = relationships
    c = cur.join(r, cur.rel_id == r.relationship_id)
    end_known_at = ibis.coalesce(
        c.end_recorded_at.cast("timestamp"), c.recorded_at.cast("timestamp")
    )
    end_at = c.end_date.cast("timestamp")
    separated = (end_at.notnull() & (end_at <= c.as_of) & (end_known_at < c.as_of)).fill_null(False)
    fpc = c.kind == "family_parent_child"
    flag = lambda cond: cond.fill_null(False).cast("float64")  # noqa: E731
    days = (c.as_of.epoch_seconds() - end_at.epoch_seconds()) / DAY_SECONDS
    return c.select(
        "rid",
        "person_id",
        "as_of",
        "rel_id",
        other=ibis.ifelse(c.person_a_id == c.person_id, c.person_b_id, c.person_a_id),
        rel_record_at=c.recorded_at.cast("timestamp"),
        rel_end_known_at=ibis.ifelse(separated, end_known_at, ibis.null()),
        rel_kind=c.kind,
        rel_intimate=flag((c.kind == "intimate") & ~separated),
        rel_ex_intimate=flag((c.kind == "intimate") & separated),
        rel_perp_is_parent=flag(fpc & (c.person_a_id == c.person_id)),
        rel_perp_is_child=flag(fpc & (c.person_b_id == c.person_id)),
        rel_sibling=flag(c.kind == "family_sibling"),
        rel_separated=flag(separated),
        rel_days_since_separation=ibis.ifelse(separated, days.cast("float64"), ibis.null()),
        rel_cohabiting=ibis.ifelse(separated, 0.0, c.cohabiting.cast("float64")),
    )


def join_incidents(cur: ibis.Table, inc_rel: ibis.Table) -> ibis.Table:
    """Rows of the perpetrator's incidents in the current relationship known before T."""
    s = inc_rel
    return with_age(cur.select("rid", "person_id", "as_of", "rel_id").join(
        s, [cur.person_id == s.subject, s.relationship_id == cur.rel_id, s.known_at < cur.as_of]
    ))


def join_assessments(cur: ibis.Table, assessments: ibis.Table) -> ibis.Table:
    """Rows of assessments of the perpetrator against the relationship's other party."""
    s = assessments
    return with_age(cur.select("rid", "person_id", "as_of", "other").join(
        s, [cur.person_id == s.subject, s.victim_id == cur.other, s.known_at < cur.as_of]
    ))


def spec_groups() -> tuple[tuple[str, tuple[Spec, ...]], ...]:
    return (("incidents_rel", INCIDENT_SPECS), ("assessments", ASSESSMENT_SPECS))
