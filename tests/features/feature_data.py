"""Tiny typed contract datasets for feature tests (the dict form ``build`` accepts).

Rows are given as dicts with only the interesting fields; the rest take neutral defaults, and
every frame gets the typed representation of architecture section 1 (str ids, naive datetime64,
nullable booleans).
"""

from __future__ import annotations

import pandas as pd

from riskcohort.contract.schema import ASSESSMENT_QUESTIONS, TABLES

DEFAULTS = {
    "persons": {"birth_date": None, "sex": "unknown", "ethnicity": "unknown", "death_date": None},
    "incidents": {
        "victim_id": None, "relationship_id": None, "domestic": True, "offence": "common_assault",
        "weapon": None, "injury": None, "children_present": None, "alcohol": None, "drugs": None,
        "order_id": None,
    },
    "relationships": {"start_date": None, "end_date": None, "end_recorded_at": None,
                      "cohabiting": None},
    "risk_assessments": {"incident_id": None, "victim_id": None, "tool": "dash",
                         "grade": "standard", **{q: None for q in ASSESSMENT_QUESTIONS}},
    "orders": {"protected_id": None, "end_date": None},
    "custody": {"end_date": None, "kind": "remand"},
    "markers": {"expires_at": None},
    "referrals": {"role": "perpetrator"},
    "interventions": {"end_date": None, "end_recorded_at": None, "kind": "dapst_managed"},
}


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A typed frame of contract table ``table`` from partial row dicts."""
    spec = TABLES[table]
    full = [{**DEFAULTS.get(table, {}), **r} for r in rows]
    cols = list(spec.names)
    out = pd.DataFrame(full, columns=cols) if full else pd.DataFrame(columns=cols)
    for col in spec.columns:
        if col.type in ("date", "timestamp"):
            out[col.name] = pd.to_datetime(out[col.name], format="mixed").astype("datetime64[ns]")
        elif col.type == "bool":
            out[col.name] = out[col.name].astype("boolean")
        elif col.type == "float":
            out[col.name] = out[col.name].astype("float64")
        else:
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
            out[col.name] = out[col.name].astype("str").where(out[col.name].notna(), None)
    return out


def dataset(**tables: list[dict]) -> dict[str, pd.DataFrame]:
    """A dict dataset; ``persons`` rows are added for every id mentioned if not given."""
    data = {name: frame(name, rows) for name, rows in tables.items()}
    if "persons" not in data:
        ids: set[str] = set()
        for name, df in data.items():
            for col in TABLES[name].columns:
                if col.references == "persons.person_id":
                    ids.update(v for v in df[col.name].dropna().astype(str))
        data["persons"] = frame("persons", [{"person_id": i} for i in sorted(ids)])
    return data


def random_dataset(rng, n_persons: int = 4, n_events: int = 10) -> dict[str, pd.DataFrame]:
    """A small random dataset touching every table, every kind and null booleans.

    Dates fall in 2019-2024 at whole hours, so windows, ties and late recording all occur.
    """
    start = pd.Timestamp("2019-01-01")
    span_h = 6 * 365 * 24

    def when():
        return start + pd.Timedelta(hours=int(rng.integers(0, span_h)))

    def later(t, max_days=120):
        return t + pd.Timedelta(hours=int(rng.integers(0, max_days * 24)))

    def pick(values):
        return values[int(rng.integers(0, len(values)))]

    people = [f"p{i}" for i in range(n_persons)]
    tri = [True, False, None]
    incidents, rels, ras, orders, custody, markers, refs, ivs = [], [], [], [], [], [], [], []
    for k in range(n_persons):
        a, b = people[k], people[(k + 1) % n_persons]
        rec = when()
        end = later(rec, 400) if rng.random() < 0.5 else None
        rels.append(dict(
            relationship_id=f"r{k}", person_a_id=a, person_b_id=b,
            kind=pick(["intimate", "family_parent_child", "family_sibling", "family_other"]),
            start_date=rec.normalize() - pd.Timedelta(days=100),
            end_date=None if end is None else end.normalize(),
            end_recorded_at=None if end is None or rng.random() < 0.2 else later(end, 200),
            cohabiting=pick(tri), recorded_at=rec,
        ))
    offences = ["common_assault", "abh", "gbh", "strangulation", "threats_to_kill", "stalking",
                "breach_of_order", "non_crime", "theft", "homicide", "coercive_control",
                "drugs", "weapons_possession", "harassment", "sexual_offence"]
    for n in range(n_events * n_persons):
        occ = when()
        perp = pick(people)
        rel = pick(rels)
        incidents.append(dict(
            incident_id=f"i{n}", occurred_at=occ, recorded_at=later(occ, 90),
            perpetrator_id=perp, victim_id=pick([*people, None]),
            relationship_id=rel["relationship_id"] if rng.random() < 0.6 else None,
            domestic=rng.random() < 0.75, offence=pick(offences),
            weapon=pick([None, "none", "knife", "firearm"]),
            injury=pick([None, "none", "minor", "serious"]), children_present=pick(tri),
        ))
    for n in range(n_events):
        t = when()
        ras.append(dict(
            assessment_id=f"a{n}", assessed_at=t, perpetrator_id=pick(people),
            victim_id=pick(people), grade=pick(["standard", "medium", "high"]),
            **{q: pick(tri) for q in ASSESSMENT_QUESTIONS},
        ))
        s = when().normalize()
        orders.append(dict(
            order_id=f"o{n}", subject_id=pick(people), protected_id=pick(people),
            kind=pick(["dvpo", "non_molestation", "bail_conditions", "other"]), start_date=s,
            end_date=pick([None, s + pd.Timedelta(days=int(rng.integers(1, 400)))]),
            recorded_at=later(s - pd.Timedelta(days=5), 30),
        ))
        cs = when().normalize()
        custody.append(dict(
            custody_id=f"c{n}", person_id=pick(people), start_date=cs,
            end_date=pick([None, cs + pd.Timedelta(days=int(rng.integers(1, 300)))]),
        ))
        mr = when()
        markers.append(dict(
            marker_id=f"m{n}", person_id=pick(people),
            kind=pick(["alcohol", "mental_health", "suicide_self_harm", "firearms_access",
                       "weapons", "violence", "drugs", "other"]),
            recorded_at=mr, expires_at=pick([None, later(mr, 500)]),
        ))
        refs.append(dict(
            referral_id=f"f{n}", person_id=pick(people), role=pick(["victim", "perpetrator"]),
            kind=pick(["marac", "mappa", "mental_health", "perpetrator_programme", "other"]),
            referred_at=when(),
        ))
        ir = when()
        iv_end = pick([None, later(ir, 300).normalize()])
        ivs.append(dict(
            intervention_id=f"n{n}", person_id=pick(people),
            kind=pick(["dapst_managed", "matac", "mappa", "dvpo", "marac"]),
            start_date=ir.normalize(), end_date=iv_end, recorded_at=ir,
            end_recorded_at=None if iv_end is None or rng.random() < 0.2 else later(iv_end, 60),
        ))
    persons = [dict(person_id=p, birth_date=pick([None, pd.Timestamp("1980-05-05")]),
                    death_date=pick([None, None, None, when().normalize()])) for p in people]
    return dataset(persons=persons, incidents=incidents, relationships=rels,
                   risk_assessments=ras, orders=orders, custody=custody, markers=markers,
                   referrals=refs, interventions=ivs)
