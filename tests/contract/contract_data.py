"""A tiny, hand-made, fully valid contract dataset that tests break one row at a time.

Every table is a list of dicts of text (as a force would export it); ``write_dataset`` writes it
as CSV or Parquet (Parquet of text columns) into a fresh folder.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd

import riskcohort  # noqa: F401  (telemetry off first)
from riskcohort.contract.schema import ASSESSMENT_QUESTIONS as QUESTIONS

N_PERSONS = 12
N_INCIDENTS = 20


def _persons():
    return [
        {
            "person_id": f"P{i:03d}",
            "birth_date": f"19{70 + i}-0{1 + i % 9}-15" if i % 4 else "",
            "sex": ["female", "male", "unknown"][i % 3],
            "ethnicity": ["white", "asian", "black", "mixed", "other", "unknown"][i % 6],
            "death_date": "",
        }
        for i in range(N_PERSONS)
    ]


def _relationships():
    return [
        {
            "relationship_id": f"R{i:02d}",
            "person_a_id": f"P{i:03d}",
            "person_b_id": f"P{i + 6:03d}",
            "kind": "intimate" if i % 2 else "family_sibling",
            "start_date": "2015-01-01",
            "end_date": "2020-06-30" if i == 1 else "",
            "end_recorded_at": "2020-07-02 09:00:00" if i == 1 else "",
            "cohabiting": ["true", "no", ""][i % 3],
            "recorded_at": "2016-03-01T10:00:00",
        }
        for i in range(6)
    ]


def _orders():
    return [
        {
            "order_id": f"O{i:02d}",
            "subject_id": f"P{i:03d}",
            "protected_id": f"P{i + 6:03d}",
            "kind": "dvpo",
            "start_date": "2019-01-01",
            "end_date": "2019-03-01" if i else "",
            "recorded_at": "2019-01-01 12:00:00",
        }
        for i in range(4)
    ]


def _incidents():
    rows = []
    for i in range(N_INCIDENTS):
        rows.append(
            {
                "incident_id": f"I{i:04d}",
                "occurred_at": f"2020-0{1 + i % 9}-0{1 + i % 8}T2{i % 4}:15:00",
                "recorded_at": f"2020-0{1 + i % 9}-0{1 + i % 8} 23:30:00",
                "perpetrator_id": f"P{i % 6:03d}",
                "victim_id": f"P{6 + i % 6:03d}" if i % 5 else "",
                "relationship_id": f"R{i % 6:02d}" if i % 2 else "",
                "domestic": ["true", "FALSE", "1", "yes", "No"][i % 5],
                "offence": ["common_assault", "abh", "gbh", "stalking", "breach_of_order"][i % 5],
                "weapon": ["none", "", "Knife"][i % 3],
                "injury": ["minor", "none", ""][i % 3],
                "children_present": ["", "false", "true"][i % 3],
                "alcohol": "",
                "drugs": "0",
                "order_id": "O01" if i % 5 == 4 else "",
            }
        )
    return rows


def _risk_assessments():
    return [
        {
            "assessment_id": f"A{i:02d}",
            "incident_id": f"I{i:04d}",
            "assessed_at": "2020-10-01 10:00:00",
            "victim_id": f"P{6 + i:03d}",
            "perpetrator_id": f"P{i:03d}",
            "tool": "dash",
            "grade": ["standard", "medium", "high"][i % 3],
            **{q: ["yes", "", "no", "TRUE", "0"][(i + j) % 5] for j, q in enumerate(QUESTIONS)},
            "q_extra_local": "true",
        }
        for i in range(6)
    ]


def _custody():
    return [
        {
            "custody_id": f"C{i}",
            "person_id": f"P{i:03d}",
            "start_date": "2018-01-01",
            "end_date": "2018-06-01" if i else "",
            "kind": "remand",
        }
        for i in range(3)
    ]


def _markers():
    return [
        {
            "marker_id": f"M{i}",
            "person_id": f"P{i:03d}",
            "kind": "weapons",
            "recorded_at": "2017-01-01",
            "expires_at": "2027-01-01" if i else "",
        }
        for i in range(3)
    ]


def _referrals():
    return [
        {
            "referral_id": f"F{i}",
            "person_id": f"P{i:03d}",
            "role": "perpetrator" if i else "victim",
            "kind": "marac",
            "referred_at": "2020-11-01",
            "note_free_text": "extra column kept",
        }
        for i in range(3)
    ]


def _interventions():
    """v1.1 table; P001-P003 only, so the P000 cascade test is unchanged."""
    kinds = ["dapst_managed", "DVPO", "marac", "perpetrator_programme"]
    return [
        {
            "intervention_id": f"N{i}",
            "person_id": f"P{1 + i % 3:03d}",
            "kind": kinds[i],
            "start_date": "2020-02-01",
            "end_date": "2020-08-01" if i % 2 else "",
            "recorded_at": "2020-02-01 09:00:00",
            "end_recorded_at": "2020-08-03T10:00:00" if i % 2 else "",
        }
        for i in range(4)
    ]


def _baseline():
    return [
        {
            "person_id": f"P{i:03d}",
            "as_of": "2021-01-01",
            "score": f"{0.1 * i:.2f}",
            "system": "ILAS",
            "in_cohort": "true" if i < 2 else "false",
        }
        for i in range(4)
    ]


BUILDERS = {
    "persons": _persons,
    "relationships": _relationships,
    "orders": _orders,
    "incidents": _incidents,
    "risk_assessments": _risk_assessments,
    "custody": _custody,
    "markers": _markers,
    "referrals": _referrals,
    "interventions": _interventions,
    "baseline_scores": _baseline,
}


def valid_tables() -> dict[str, list[dict]]:
    """A fresh copy of the valid dataset (tests mutate it)."""
    return {name: copy.deepcopy(build()) for name, build in BUILDERS.items()}


def write_dataset(folder: Path, tables: dict, fmt: str = "csv") -> Path:
    """Write tables (lists of dicts or DataFrames of text) as ``<name>.<fmt>`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        if fmt == "csv":
            # RFC 4180 line ends: with CRLF as terminator, a CR or LF inside a field is quoted
            # (pandas' default "\n" would leave a bare CR unquoted: not a valid CSV).
            frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\r\n")
        else:
            frame = frame.astype("str").mask(frame == "")
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder
