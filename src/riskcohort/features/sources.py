"""Standardised event sources built from the contract tables (Ibis expressions).

Why: every indicator is computed by joining the population (person, T) to a *source* with the
same shape, so one join rule enforces the point-in-time contract everywhere. Each source has
``subject`` (the person the indicator is about), ``record_id``, ``table`` (the contract table the
record comes from, for evidence), ``known_at`` (the record is usable at T only if
``known_at < T``), ``event_at`` (when it happened: windows are on this), ``start_at``/``end_at``
(for "in force at T" indicators), ``victim_id``, ``kind`` (a short label for evidence) and
source-specific attributes.

Knowledge times (contract "Time rules"): incidents ``recorded_at``; assessments ``assessed_at``;
orders ``recorded_at``; custody ``start_date`` (a *release* is known when it happens, so the
releases source uses ``end_date``); interventions ``recorded_at``, their end ``end_recorded_at``
(``intervention_ends``); markers ``recorded_at`` (a marker counts while
``recorded_at <= T < expires_at``: the expiry is part of the record and is only compared with T);
referrals ``referred_at`` (a victim's referral is linked to the perpetrator through his known
domestic incidents against that victim); a relationship ``recorded_at``, its end
``end_recorded_at`` (see ``relationship.py``). An incident's relationship kind is usable only
when both the incident and the relationship record are known:
``known_at = greatest(recorded_at, relationship recorded_at)``.
"""

from __future__ import annotations

import ibis

from riskcohort.contract.harm import HARM_WEIGHTS

GRADE_RANK = {"standard": 0, "medium": 1, "high": 2}

#: source -> contract tables it needs (absent table => its indicators are NaN).
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "incidents": ("incidents",),
    "incidents_rel": ("incidents", "relationships"),
    "assessments": ("risk_assessments",),
    "orders": ("orders",),
    "incidents_victims": ("incidents", "persons"),
    "victim_incidents": ("incidents",),
    "intimate_da": ("incidents", "relationships"),
    "custody": ("custody",),
    "custody_releases": ("custody",),
    "interventions": ("interventions",),
    "intervention_ends": ("interventions",),
    "markers": ("markers",),
    "referrals": ("referrals",),
    "victim_referrals": ("incidents", "referrals"),
}

_NULL_TS = ibis.null().cast("timestamp")
_NULL_STR = ibis.null().cast("string")


def _ts(col: ibis.Value) -> ibis.Value:
    return col.cast("timestamp")


def harm_expr(offence: ibis.Value) -> ibis.Value:
    """Crime-harm weight (days) of an offence column, from ``HARM_WEIGHTS``."""
    return offence.cases(*HARM_WEIGHTS.items(), else_=0.0).cast("float64")


def _base(t, table, subject, record_id, known_at, event_at, *, start_at=None, end_at=None,
          victim_id=None, kind=None, **attrs):
    return t.select(
        subject=subject.cast("string"),
        record_id=record_id.cast("string"),
        table=ibis.literal(table),
        known_at=_ts(known_at),
        event_at=_ts(event_at),
        start_at=_NULL_TS if start_at is None else _ts(start_at),
        end_at=_NULL_TS if end_at is None else _ts(end_at),
        victim_id=_NULL_STR if victim_id is None else victim_id.cast("string"),
        kind=_NULL_STR if kind is None else kind.cast("string"),
        **attrs,
    )


def _incidents(t):
    return dict(
        subject=t.perpetrator_id, record_id=t.incident_id, known_at=t.recorded_at,
        event_at=t.occurred_at, victim_id=t.victim_id, kind=t.offence,
        domestic=t.domestic, offence=t.offence, weapon=t.weapon, injury=t.injury,
        children_present=t.children_present,
        relationship_id=t.relationship_id.cast("string"), harm=harm_expr(t.offence),
    )


def build_sources(t: dict[str, ibis.Table]) -> dict[str, ibis.Table]:
    """Standardised sources for the tables present in ``t`` (name -> Ibis table)."""
    out: dict[str, ibis.Table] = {}
    if "incidents" in t:
        inc = t["incidents"]
        out["incidents"] = _base(inc, "incidents", **_incidents(inc))
        if "relationships" in t:
            rel = t["relationships"]
            j = inc.join(rel, inc.relationship_id == rel.relationship_id)
            cols = _incidents(j)
            cols["known_at"] = ibis.greatest(_ts(j.recorded_at), _ts(j.recorded_at_right))
            out["incidents_rel"] = _base(
                j, "incidents", **cols, rel_kind=j.kind,
                perp_is_a=(j.person_a_id == j.perpetrator_id),
            )
        out.update(_victim_sources(t))
        if "incidents_rel" in out:
            r = out["incidents_rel"]
            out["intimate_da"] = r.filter(
                r.domestic.fill_null(False), r.rel_kind == "intimate", r.victim_id.notnull()
            )
    if "risk_assessments" in t:
        ra = t["risk_assessments"]
        qs = {c: ra[c] for c in ra.columns if c.startswith("q_")}
        out["assessments"] = _base(
            ra, "risk_assessments", ra.perpetrator_id, ra.assessment_id, ra.assessed_at,
            ra.assessed_at, victim_id=ra.victim_id, kind=ra.grade,
            grade=ra.grade, grade_rank=ra.grade.cases(*GRADE_RANK.items()).cast("float64"), **qs,
        )
    if "orders" in t:
        o = t["orders"]
        out["orders"] = _base(
            o, "orders", o.subject_id, o.order_id, o.recorded_at, o.start_date,
            start_at=o.start_date, end_at=o.end_date, victim_id=o.protected_id, kind=o.kind,
            order_kind=o.kind,
        )
    if "custody" in t:
        c = t["custody"]
        out["custody"] = _base(
            c, "custody", c.person_id, c.custody_id, c.start_date, c.start_date,
            start_at=c.start_date, end_at=c.end_date, kind=c.kind,
            end_known_at=_ts(c.end_date),  # a release is known when it happens
        )
        released = c.filter(c.end_date.notnull())
        out["custody_releases"] = _base(
            released, "custody", released.person_id, released.custody_id,
            ibis.greatest(_ts(released.start_date), _ts(released.end_date)), released.end_date,
            kind=released.kind,
        )
    if "interventions" in t:
        out.update(_intervention_sources(t["interventions"]))
    if "markers" in t:
        m = t["markers"]
        out["markers"] = _base(
            m, "markers", m.person_id, m.marker_id, m.recorded_at, m.recorded_at,
            start_at=m.recorded_at, end_at=m.expires_at, kind=m.kind, marker_kind=m.kind,
        )
    if "referrals" in t and "incidents" in t:
        # MARAC referrals are made for victims: link them to the perpetrator via the victims of
        # his domestic incidents; usable once both the incident and the referral are known.
        inc, ref = t["incidents"], t["referrals"]
        inc = inc.filter(inc.domestic.fill_null(False), inc.victim_id.notnull())
        ref = ref.filter(ref.role == "victim")
        j = inc.join(ref, inc.victim_id == ref.person_id)
        out["victim_referrals"] = _base(
            j, "referrals", j.perpetrator_id, j.referral_id,
            ibis.greatest(_ts(j.recorded_at), _ts(j.referred_at)), j.referred_at,
            victim_id=j.victim_id, kind=j.kind, referral_kind=j.kind,
        )
    if "referrals" in t:
        r = t["referrals"]
        out["referrals"] = _base(
            r, "referrals", r.person_id, r.referral_id, r.referred_at, r.referred_at,
            kind=r.kind, referral_kind=r.kind, role=r.role,
        )
    return out


def _victim_sources(t: dict[str, ibis.Table]) -> dict[str, ibis.Table]:
    """Sources about the victims of the person's domestic incidents.

    ``incidents_victims``: his domestic incidents with the victim's birth date (victim age).
    ``victim_incidents``: domestic incidents against his victims *by anyone* (repeat
    victimisation). The link person -> victim is known from his first incident against that
    victim recorded (``link_known_at`` = earliest ``recorded_at``: known at T iff some such
    incident is), and each incident against the victim from its own ``recorded_at``, so
    ``known_at`` is the later of the two. One row per (person, incident): no double counting.
    """
    inc, persons = t["incidents"], t["persons"]
    da = inc.filter(inc.domestic.fill_null(False), inc.victim_id.notnull())
    p = persons.select(vid=persons.person_id, victim_birth=_ts(persons.birth_date))
    jv = da.join(p, da.victim_id == p.vid, how="left")
    out = {"incidents_victims": _base(jv, "incidents", **_incidents(jv),
                                      victim_birth=jv.victim_birth)}
    links = da.group_by(link_perp=da.perpetrator_id, link_victim=da.victim_id).aggregate(
        link_known_at=_ts(da.recorded_at).min()
    )
    other = da.view()
    j = links.join(other, links.link_victim == other.victim_id)
    cols = _incidents(j)
    cols.update(subject=j.link_perp,
                known_at=ibis.greatest(j.link_known_at, _ts(j.recorded_at)))
    out["victim_incidents"] = _base(j, "incidents", **cols,
                                    by_other=(j.perpetrator_id != j.link_perp))
    return out


def _intervention_sources(iv: ibis.Table) -> dict[str, ibis.Table]:
    """``interventions`` (periods, known from ``recorded_at``) and ``intervention_ends`` (ended
    periods, known once the end is: ``end_recorded_at``, or the end date itself when the export
    has no ``end_recorded_at``; never before the start was recorded)."""
    end_known = ibis.coalesce(_ts(iv.end_recorded_at), _ts(iv.end_date))
    out = {"interventions": _base(
        iv, "interventions", iv.person_id, iv.intervention_id, iv.recorded_at, iv.start_date,
        start_at=iv.start_date, end_at=iv.end_date, kind=iv.kind, iv_kind=iv.kind,
        end_known_at=ibis.greatest(_ts(iv.recorded_at), end_known),
    )}
    ended = iv.filter(iv.end_date.notnull())
    end_known = ibis.coalesce(_ts(ended.end_recorded_at), _ts(ended.end_date))
    out["intervention_ends"] = _base(
        ended, "interventions", ended.person_id, ended.intervention_id,
        ibis.greatest(_ts(ended.recorded_at), end_known), ended.end_date,
        start_at=ended.start_date, end_at=ended.end_date, kind=ended.kind, iv_kind=ended.kind,
    )
    return out
