"""Relationship group: kinds, separation learned after T, in-relationship counts."""

import math

import pytest

import riskcohort.features as features
from tests.features.feature_data import dataset

T, T2 = "2024-07-01", "2024-08-01"


def inc(iid, perp, victim, rel, occ, rec=None):
    return dict(incident_id=iid, occurred_at=occ, recorded_at=rec or occ, perpetrator_id=perp,
                victim_id=victim, relationship_id=rel)


def rel(rid, a, b, kind, rec="2023-01-01", **kw):
    return dict(relationship_id=rid, person_a_id=a, person_b_id=b, kind=kind, recorded_at=rec, **kw)


@pytest.fixture(scope="module")
def rows():
    data = dataset(
        incidents=[
            inc("i1", "p", "old", "r0", "2023-02-01"),  # older relationship
            inc("i2", "p", "v", "r1", "2023-05-01"),
            inc("i3", "p", "v", "r1", "2024-05-01"),
            inc("i4", "p", "v", "r1", "2024-06-01"),
            inc("k1", "kid", "mum", "r2", "2024-06-01"),
            inc("s1", "sib", "bro", "r3", "2024-06-01"),
            inc("d1", "dad", "son", "r4", "2024-06-01"),
            inc("n1", "lone", "x", None, "2024-06-01"),
        ],
        relationships=[
            rel("r0", "p", "old", "intimate", end_date="2023-03-01",
                end_recorded_at="2023-03-02"),
            # separation on 2024-06-01 only learned on 2024-07-10 (after T)
            rel("r1", "v", "p", "intimate", cohabiting=True, end_date="2024-06-01",
                end_recorded_at="2024-07-10"),
            rel("r2", "mum", "kid", "family_parent_child"),
            rel("r3", "sib", "bro", "family_sibling"),
            rel("r4", "dad", "son", "family_parent_child"),
        ],
        risk_assessments=[
            dict(assessment_id="a1", assessed_at="2024-05-02", perpetrator_id="p", victim_id="v",
                 grade="high", q_pregnancy_infant=True, q_child_contact_conflict=True),
            dict(assessment_id="a2", assessed_at="2023-02-02", perpetrator_id="p",
                 victim_id="old", grade="high", q_pregnancy_infant=True),
        ],
    )
    out = features.build(data, [T, T2])
    return {(r["person_id"], str(r["as_of"].date())): r for r in out.to_dict("records")}


def test_current_relationship_and_separation_learned_after_t(rows):
    at_t, later = rows[("p", T)], rows[("p", T2)]
    assert (at_t["rel_intimate"], at_t["rel_ex_intimate"], at_t["rel_separated"]) == (1, 0, 0)
    assert math.isnan(at_t["rel_days_since_separation"])
    assert at_t["rel_cohabiting"] == 1.0
    assert (later["rel_intimate"], later["rel_ex_intimate"], later["rel_separated"]) == (0, 1, 1)
    assert later["rel_days_since_separation"] == 61.0
    assert later["rel_cohabiting"] == 0.0


def test_counts_within_relationship(rows):
    r = rows[("p", T)]
    assert r["rel_da_count"] == 3.0  # i2-i4, not the older relationship's i1
    assert r["rel_da_count_365d"] == 2.0
    assert math.isclose(r["rel_escalation"], (2 + 1) / (1 * 0.5 + 1))
    assert r["rel_pregnancy_infant"] == 1.0  # a2 concerns the earlier partner
    assert r["rel_child_contact_conflict"] == 1.0


def test_kinds_one_hot(rows):
    kid, sib, dad = rows[("kid", T)], rows[("sib", T)], rows[("dad", T)]
    assert (kid["rel_perp_is_child"], kid["rel_perp_is_parent"]) == (1.0, 0.0)
    assert (dad["rel_perp_is_child"], dad["rel_perp_is_parent"]) == (0.0, 1.0)
    assert sib["rel_sibling"] == 1.0 and sib["rel_intimate"] == 0.0


def test_no_known_relationship_is_unknown_not_zero(rows):
    r = rows[("lone", T)]
    assert all(math.isnan(r[k]) for k in r if k.startswith("rel_"))
