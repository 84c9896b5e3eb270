"""Provenance: the records behind a person's indicator values, grouped per indicator.

The records come from ``riskcohort.features.evidence`` in production. These tests build a tiny
hand-made dataset and pass an evidence function over it, so the grouping, the point-in-time cut
and the notes are checked independently of the features engine.
"""

from __future__ import annotations

import pandas as pd
import pytest

from riskcohort.explain.person import explain_person
from riskcohort.explain.provenance import records_by_indicator
from riskcohort.runfolder import layout as L
from tests.explain.conftest import republish

AS_OF = pd.Timestamp("2024-01-01")


def _incidents() -> pd.DataFrame:
    rows = [  # P00001: 3 breaches known before T within 365 days, 1 recorded after T, 1 too old
        ("i1", "P00001", "breach_of_order", "2023-03-01", "V1"),
        ("i2", "P00001", "breach_of_order", "2023-06-01", "V1"),
        ("i3", "P00001", "breach_of_order", "2023-12-30", "V2"),
        ("i4", "P00001", "breach_of_order", "2024-01-02", "V1"),
        ("i5", "P00001", "breach_of_order", "2022-06-01", "V1"),
        ("i6", "P00002", "common_assault", "2023-05-01", "V3"),
    ]
    frame = pd.DataFrame(rows, columns=["incident_id", "perpetrator_id", "offence",
                                        "recorded_at", "victim_id"])
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"])
    return frame


def breach_evidence(data, person_id, as_of, indicators=None):
    """Records behind breach_count_365d: breaches known before T, in the year before T."""
    inc = data["incidents"]
    hit = inc[(inc.perpetrator_id == person_id) & (inc.offence == "breach_of_order")
              & (inc.recorded_at < as_of) & (inc.recorded_at >= as_of - pd.Timedelta(days=365))]
    return pd.DataFrame({"indicator": "breach_count_365d", "table": "incidents",
                         "record_id": hit.incident_id, "recorded_at": hit.recorded_at,
                         "kind": hit.offence, "victim_id": hit.victim_id})


@pytest.fixture
def evidence_run(tmp_path, build_run):
    run = build_run(tmp_path, n=60)
    feats = pd.read_parquet(run / "features.parquet")
    data = {"incidents": _incidents()}
    counts = {pid: len(breach_evidence(data, pid, AS_OF)) for pid in ("P00001", "P00002")}
    for pid, count in counts.items():  # the indicator value equals the count of its records
        feats.loc[feats.person_id == pid, "breach_count_365d"] = float(count)
    republish(run, {L.FEATURES: feats})
    return run, data


def test_a_count_of_three_lists_exactly_three_records_known_before_t(evidence_run):
    run, data = evidence_run
    exp = explain_person(run, "P00001", data, evidence_fn=breach_evidence)
    value = pd.read_parquet(run / "features.parquet").set_index("person_id").loc[
        "P00001", "breach_count_365d"]
    records = exp.evidence["breach_count_365d"]
    assert value == 3 and len(records) == value
    assert {r["record_id"] for r in records} == {"i1", "i2", "i3"}
    assert all(pd.Timestamp(r["recorded_at"]) < AS_OF for r in records)
    assert [r["recorded_at"] for r in records] == sorted(r["recorded_at"] for r in records)


def test_no_records_behind_an_indicator_means_no_evidence_rows(evidence_run):
    run, data = evidence_run
    exp = explain_person(run, "P00002", data, evidence_fn=breach_evidence)
    reasons = {r.indicator for r in exp.reasons_up + exp.reasons_down}
    assert set(exp.evidence) == reasons
    assert exp.evidence.get("breach_count_365d", []) == []


def test_missing_input_folder_gives_a_note_not_an_error(evidence_run):
    run, _ = evidence_run
    exp = explain_person(run, "P00001", evidence_fn=breach_evidence)
    assert exp.evidence == {}
    assert any("input folder" in n for n in exp.notes)


def test_changed_input_data_is_flagged(evidence_run):
    run, data = evidence_run

    class Data(dict):
        fingerprint = "0" * 64  # run.json of the fixture says "f" * 64

    exp = explain_person(run, "P00001", Data(data), evidence_fn=breach_evidence)
    assert any("fingerprint differs" in n for n in exp.notes)
    assert len(exp.evidence["breach_count_365d"]) == 3


def test_grouping_keeps_every_requested_indicator_and_nulls():
    frame = breach_evidence({"incidents": _incidents()}, "P00001", AS_OF)
    frame.loc[frame.index[0], "victim_id"] = None
    grouped = records_by_indicator(frame, ["breach_count_365d", "da_count_365d"])
    assert grouped["da_count_365d"] == []
    assert len(grouped["breach_count_365d"]) == 3
    assert grouped["breach_count_365d"][0]["victim_id"] is None
