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
}


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A typed frame of contract table ``table`` from partial row dicts."""
    spec = TABLES[table]
    full = [{**DEFAULTS.get(table, {}), **r} for r in rows]
    cols = list(spec.names)
    out = pd.DataFrame(full, columns=cols) if full else pd.DataFrame(columns=cols)
    for col in spec.columns:
        if col.type in ("date", "timestamp"):
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[ns]")
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
