"""Victims at risk (issue 19.1): who this person has harmed or could harm, from the records only.

For the person page's first screen: every current and former partner and family member linked
by a relationship record or named as a victim in an incident by this person, with the
relationship kind, separation date if recorded, the latest DASH/DARA grade and date for that
victim, MARAC referral status, the victim's age, and incidents by this person against them in
the 12 months to the iteration's as-of date; plus incidents with children present. Every fact
carries the record ids it comes from. Nothing is inferred: a missing record shows as "not
recorded". Data come from the same folder as the alerts (``alerts.data_dir``).
"""

from __future__ import annotations

import logging

import pandas as pd

from riskcohort.app.alerts import data_dir, load_tables

logger = logging.getLogger(__name__)
SPEC = {"persons": ["person_id", "birth_date"],
        "relationships": ["relationship_id", "person_a_id", "person_b_id", "kind", "start_date",
                          "end_date"],
        "incidents": ["incident_id", "occurred_at", "perpetrator_id", "victim_id",
                      "relationship_id", "offence", "children_present"],
        "risk_assessments": ["assessment_id", "assessed_at", "victim_id", "perpetrator_id",
                             "tool", "grade"],
        "referrals": ["referral_id", "person_id", "role", "kind", "referred_at"]}
KIND_WORDS = {"intimate": "partner", "family_parent_child": "parent/child",
              "family_sibling": "sibling", "family_other": "family (other)"}


def _day(v) -> str | None:
    return None if v is None or v != v else pd.Timestamp(v).strftime("%Y-%m-%d")


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def victims_for(it, pid: str) -> dict | None:
    """The victims-at-risk panel for one person; None when the app has no data folder."""
    d = data_dir(it)
    if d is None:
        return None
    try:
        return build(load_tables(d, SPEC), pid, pd.Timestamp(it.as_of))
    except Exception:  # a malformed extract must not take the person page down
        logger.exception("victims: cannot read %s", d)
        return {"failed": True, "victims": [], "children": [], "source": d.name}


def build(t: dict[str, pd.DataFrame], pid: str, as_of: pd.Timestamp) -> dict:
    """Victims of ``pid`` from the tables (see module docstring)."""
    need = {"relationships": ["relationship_id", "person_a_id", "person_b_id", "kind"],
            "incidents": ["incident_id", "occurred_at", "perpetrator_id"],
            "risk_assessments": ["assessment_id", "assessed_at", "victim_id", "grade"],
            "referrals": ["referral_id", "person_id", "kind", "referred_at"],
            "persons": ["person_id", "birth_date"]}
    # a table without the columns a fact needs is treated as absent (that fact: not recorded)
    t = {k: v for k, v in t.items() if set(need.get(k, [])) <= set(v.columns)}
    rows: dict[str, dict] = {}

    def victim(vid: str) -> dict:
        return rows.setdefault(vid, {"victim_id": vid, "links": [], "separation": None,
                                     "relationship_ids": [], "incidents_12m": [],
                                     "incident_ids": []})

    rel = t.get("relationships")
    if rel is not None and len(rel):
        for r in rel[(rel["person_a_id"] == pid) | (rel["person_b_id"] == pid)].itertuples(
                index=False):
            other = r.person_b_id if r.person_a_id == pid else r.person_a_id
            v = victim(other)
            kind = KIND_WORDS.get(str(r.kind), str(r.kind).replace("_", " "))
            current = _day(getattr(r, "end_date", None)) is None
            v["links"].append(f"{'current' if current else 'former'} {kind}")
            v["relationship_ids"].append(r.relationship_id)
            if not current:
                v["separation"] = max(filter(None, [v["separation"], _day(r.end_date)]))
    inc = t.get("incidents")
    children = []
    if inc is not None and len(inc):
        mine = inc[inc["perpetrator_id"] == pid]
        start = as_of - pd.DateOffset(months=12)
        for r in mine.itertuples(index=False):
            vid = getattr(r, "victim_id", None)
            vid = None if vid is None or vid != vid or str(vid) in ("", "<NA>") else vid
            if vid is not None and vid != pid:
                v = victim(vid)
                if not v["links"]:  # no relationship record: the incident is the only link
                    v["links"].append("named as victim in an incident")
                v["incident_ids"].append(r.incident_id)
                if start < r.occurred_at <= as_of:
                    v["incidents_12m"].append(r.incident_id)
            if _truthy(getattr(r, "children_present", None)):
                children.append({"incident_id": r.incident_id, "date": _day(r.occurred_at),
                                 "offence": str(r.offence).replace("_", " ")})
    ra, ref, per = t.get("risk_assessments"), t.get("referrals"), t.get("persons")
    births = (dict(zip(per["person_id"], per["birth_date"], strict=False))
              if per is not None and "birth_date" in per else {})
    for vid, v in rows.items():
        v["assessment"] = None
        if ra is not None and len(ra):
            theirs = ra[ra["victim_id"] == vid].sort_values("assessed_at")
            if len(theirs):
                a = theirs.iloc[-1]
                v["assessment"] = {"tool": str(a.get("tool", "")).upper(),
                                   "grade": str(a["grade"]), "date": _day(a["assessed_at"]),
                                   "id": a["assessment_id"]}
        v["marac"] = None
        if ref is not None and len(ref):
            m = ref[(ref["person_id"] == vid) & (ref["kind"] == "marac")].sort_values(
                "referred_at")
            if len(m):
                v["marac"] = {"date": _day(m.iloc[-1]["referred_at"]),
                              "id": m.iloc[-1]["referral_id"], "n": len(m)}
        born = births.get(vid)
        v["age"] = (None if born is None or born != born
                    else int((as_of - pd.Timestamp(born)).days // 365.25))
    out = sorted(rows.values(), key=lambda v: (-len(v["incidents_12m"]),
                                               -len(v["incident_ids"]), v["victim_id"]))
    return {"victims": out, "children": sorted(children, key=lambda c: c["date"] or "",
                                               reverse=True),
            "as_of": as_of.strftime("%Y-%m-%d"), "failed": False}
