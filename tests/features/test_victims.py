"""Victim vulnerability and the new-partner indicator (T = 2024-07-01)."""

import pandas as pd

import riskcohort.features as features
from tests.features.feature_data import dataset

T = "2024-07-01"


def inc(iid, perp, victim, occ, rec=None, rel=None, **kw):
    return dict(incident_id=iid, occurred_at=occ, recorded_at=rec or occ, perpetrator_id=perp,
                victim_id=victim, relationship_id=rel, **kw)


def rel(rid, a, b, kind="intimate", rec="2015-01-01"):
    return dict(relationship_id=rid, person_a_id=a, person_b_id=b, kind=kind, recorded_at=rec)


def _frame(incidents, relationships, persons=None, when=T):
    tables = dict(incidents=incidents, relationships=relationships)
    if persons is not None:
        tables["persons"] = persons
    return features.build(dataset(**tables), [when]).set_index("person_id")


RELS = [rel("r1", "p", "v1"), rel("r2", "p", "v2"), rel("r3", "q", "v3"),
        rel("r4", "p", "m", kind="family_parent_child")]


def test_new_partner_needs_an_earlier_intimate_victim():
    frame = _frame([
        inc("a", "p", "v1", "2021-01-01", rel="r1"),  # earlier partner
        inc("b", "p", "v2", "2024-03-01", rel="r2"),  # new partner, 4 months before T
        inc("c", "p", "v2", "2024-05-01", rel="r2"),
        inc("d", "q", "v3", "2024-04-01", rel="r3"),  # q's first partner: not "new"
    ], RELS)
    assert frame.loc["p", "new_intimate_partner_12m"] == 1.0
    assert frame.loc["q", "new_intimate_partner_12m"] == 0.0


def test_new_partner_first_incident_must_be_recent_and_known():
    frame = _frame([
        inc("a", "p", "v1", "2021-01-01", rel="r1"),
        inc("b", "p", "v2", "2022-01-01", rel="r2"),  # v2 known for 2.5 years: not new
        inc("c", "p", "v2", "2024-05-01", rel="r2"),
    ], RELS)
    assert frame.loc["p", "new_intimate_partner_12m"] == 0.0
    # the earlier partner's incident recorded only after T: p is not yet a known perpetrator
    late = _frame([
        inc("a", "p", "v1", "2021-01-01", rec="2024-07-05", rel="r1"),
        inc("b", "p", "v2", "2024-03-01", rel="r2"),
    ], RELS)
    assert late.loc["p", "new_intimate_partner_12m"] == 0.0


def test_victim_age_is_the_latest_victims():
    persons = [dict(person_id="p"), dict(person_id="v1", birth_date="1990-07-01"),
               dict(person_id="v2", birth_date="2000-07-01"), dict(person_id="m")]
    frame = _frame([
        inc("a", "p", "v2", "2023-01-01"),
        inc("b", "p", "v1", "2024-01-01"),  # latest: v1, aged 34 at T
        inc("c", "p", "m", "2024-02-01", rec="2024-07-10"),  # recorded after T
    ], RELS, persons)
    assert round(frame.loc["p", "victim_age"], 2) == 34.0


def test_repeat_victimisation_of_the_victims_by_anyone():
    frame = _frame([
        inc("a", "p", "v1", "2024-01-01"),
        inc("b", "q", "v1", "2023-01-01"),  # someone else abused v1 too
        inc("c", "q", "v1", "2020-01-01"),  # older than 3 years
        inc("d", "q", "v1", "2024-02-01", rec="2024-07-02"),  # recorded after T
        inc("e", "q", "v3", "2024-02-01"),  # not p's victim
        inc("f", "q", "v1", "2024-03-01", domestic=False),  # not domestic
    ], RELS)
    assert frame.loc["p", "victim_repeat_victimisation_3y"] == 2.0  # a, b
    ev = features.evidence(
        dataset(incidents=[inc("a", "p", "v1", "2024-01-01"), inc("b", "q", "v1", "2023-01-01")]),
        "p", T, indicators=["victim_repeat_victimisation_3y"])
    assert sorted(ev["record_id"]) == ["a", "b"]


def test_link_to_the_victim_must_be_known_at_t():
    # p's only incident against v1 is recorded after T: q's incidents against v1 do not count
    frame = _frame([
        inc("a", "p", "v3", "2024-01-01"),
        inc("x", "p", "v1", "2024-01-01", rec="2024-07-02"),
        inc("b", "q", "v1", "2023-01-01"),
    ], RELS)
    assert frame.loc["p", "victim_repeat_victimisation_3y"] == 1.0  # a only
    assert not pd.isna(frame.loc["p", "victim_repeat_victimisation_3y"])
