"""Row rules: each broken row lands in quarantine with its rule; counts are exact."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from riskcohort.contract import load_dataset
from riskcohort.contract.schema import BASELINE_SCORES, BOOL, DATE, ENUM, FLOAT, ID, TABLES
from riskcohort.errors import UserError
from tests.contract.contract_data import write_dataset


def _load(tmp_path, tables, fmt="csv", **kw):
    data = write_dataset(tmp_path / "data", tables, fmt)
    return load_dataset(data, report_dir=tmp_path / "report", data_docs=False, **kw)


def _counts(ds) -> dict[str, dict[str, int]]:
    return {n: t.rules for n, t in ds.report.tables.items() if t.rules}


def _assert_accounting(ds, tables):
    for name, rows in tables.items():
        t = ds.report.tables[name]
        assert t.read == len(rows) == t.accepted + t.quarantined
        frame = ds.baseline_scores if name == "baseline_scores" else ds.tables[name]
        assert len(frame) == t.accepted
        q = pd.read_parquet(t.quarantine_file)
        assert len(q) == t.quarantined


def test_valid_dataset_accepts_everything(tmp_path, tables, fmt):
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {}
    assert ds.absent == []
    _assert_accounting(ds, tables)


def test_invalid_type(tmp_path, tables, fmt):
    tables["incidents"][10]["occurred_at"] = "2020-13-45"
    tables["incidents"][12]["domestic"] = "maybe"
    tables["incidents"][16]["recorded_at"] = "yesterday"
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"incidents": {"invalid_type": 3}}
    _assert_accounting(ds, tables)
    q = pd.read_parquet(ds.report.tables["incidents"].quarantine_file)
    assert sorted(q["incident_id"]) == ["I0010", "I0012", "I0016"]
    row = q.set_index("incident_id").loc["I0012"]
    assert row["domestic"] == "maybe"  # original value as read
    assert row["rule"] == "invalid_type" and "domestic" in row["detail"]
    assert "I0012" not in set(ds.tables["incidents"]["incident_id"])


def test_null_and_unknown_enum(tmp_path, tables, fmt):
    tables["markers"][0]["kind"] = ""
    tables["incidents"][13]["offence"] = "murder"
    tables["incidents"][7]["offence"] = "GBH"  # case-insensitive: accepted, lower-cased
    tables["incidents"][8]["weapon"] = "sword"  # nullable enum: still must be known
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {
        "markers": {"null_in_required": 1},
        "incidents": {"unknown_enum": 2},
    }
    inc = ds.tables["incidents"].set_index("incident_id")
    assert inc.loc["I0007", "offence"] == "gbh"
    assert inc.loc["I0002", "weapon"] == "knife"
    _assert_accounting(ds, tables)


def test_order_rules(tmp_path, tables, fmt):
    tables["incidents"][14]["recorded_at"] = "2019-01-01 00:00:00"
    tables["orders"][2]["end_date"] = "2018-12-31"
    tables["markers"][1]["expires_at"] = "2016-12-31"
    tables["custody"][1]["end_date"] = "2018-01-01"  # equal to start: allowed
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {
        "incidents": {"recorded_before_occurred": 1},
        "orders": {"end_before_start": 1},
        "markers": {"expires_before_recorded": 1},
    }
    _assert_accounting(ds, tables)


def test_same_person_and_duplicate_key(tmp_path, tables, fmt):
    tables["relationships"][2]["person_b_id"] = "P002"
    tables["custody"][2]["custody_id"] = "C1"
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"relationships": {"same_person": 1}, "custody": {"duplicate_key": 1}}
    kept = ds.tables["custody"].set_index("custody_id")
    assert kept.loc["C1", "person_id"] == "P001"  # the first occurrence wins
    _assert_accounting(ds, tables)


def test_duplicate_of_a_broken_row_is_not_a_duplicate(tmp_path, tables, fmt):
    tables["referrals"][1]["role"] = "boss"
    tables["referrals"][2]["referral_id"] = "F1"
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"referrals": {"unknown_enum": 1}}
    assert ds.tables["referrals"].set_index("referral_id").loc["F1", "person_id"] == "P002"


def test_missing_reference(tmp_path, tables, fmt):
    tables["incidents"][15]["perpetrator_id"] = "P999"
    tables["incidents"][9]["order_id"] = "O77"
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"incidents": {"missing_reference": 2}}
    _assert_accounting(ds, tables)


def test_quarantined_person_cascades(tmp_path, tables, fmt):
    tables["persons"][0]["ethnicity"] = "martian"
    ds = _load(tmp_path, tables, fmt)
    # P000 is named by R00, O00, C0, M0, F0, incidents 0/6/12/18 and assessment A00
    assert _counts(ds) == {
        "persons": {"unknown_enum": 1},
        "relationships": {"dangling_reference": 1},
        "orders": {"dangling_reference": 1},
        "custody": {"dangling_reference": 1},
        "markers": {"dangling_reference": 1},
        "referrals": {"dangling_reference": 1},
        "incidents": {"dangling_reference": 4},
        "risk_assessments": {"dangling_reference": 1},
    }
    _assert_accounting(ds, tables)


def test_absent_optional_table_is_not_checked(tmp_path, tables, fmt):
    del tables["relationships"]
    tables["incidents"][1]["relationship_id"] = "R99"
    ds = _load(tmp_path, tables, fmt)
    assert ds.absent == ["relationships"]
    assert _counts(ds) == {}
    assert "relationships" not in ds.tables


def test_typed_representation_matches_schema(tmp_path, tables, fmt):
    ds = _load(tmp_path, tables, fmt)
    expected = {ID: "str", ENUM: "str", DATE: "datetime64[ns]", BOOL: "boolean", FLOAT: "float64"}
    for name, frame in [*ds.tables.items(), ("baseline_scores", ds.baseline_scores)]:
        table = BASELINE_SCORES if name == "baseline_scores" else TABLES[name]
        for col in table.columns:
            want = expected.get(col.type, "datetime64[ns]" if col.type == "timestamp" else "str")
            assert str(frame[col.name].dtype) == want, (name, col.name)
    ra = ds.tables["risk_assessments"]
    assert str(ra["q_extra_local"].dtype) == "boolean" and ra["q_extra_local"].all()
    assert ds.tables["referrals"]["note_free_text"].iloc[0] == "extra column kept"


def test_csv_and_parquet_give_the_same_tables(tmp_path, tables):
    a = load_dataset(write_dataset(tmp_path / "a", tables, "csv"))
    b = load_dataset(write_dataset(tmp_path / "b", tables, "parquet"))
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_values_parsed_as_written(tmp_path, tables):
    for rows in tables.values():  # P003 becomes "00042" everywhere
        for row in rows:
            row.update({k: "00042" for k, v in row.items() if v == "P003"})
    tables["incidents"][0]["occurred_at"] = "2020-01-01"
    tables["persons"][1]["birth_date"] = "1971-02-15 00:00:00"
    ds = _load(tmp_path, tables)
    assert _counts(ds) == {}
    persons = ds.tables["persons"].set_index("person_id")
    assert "00042" in persons.index
    assert persons.loc["P001", "birth_date"] == pd.Timestamp("1971-02-15")
    inc = ds.tables["incidents"].set_index("incident_id")
    assert inc.loc["I0000", "occurred_at"] == pd.Timestamp("2020-01-01 00:00:00")
    assert inc.loc["I0001", "occurred_at"] == pd.Timestamp("2020-02-02 21:15:00")
    assert (ds.tables["incidents"]["perpetrator_id"] == "00042").sum() == 3
    assert inc.loc["I0001", "domestic"] == False  # noqa: E712  ("FALSE")
    assert inc.loc["I0003", "domestic"] == True  # noqa: E712  ("yes")


def _folder_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_input_untouched_and_fingerprint(tmp_path, tables):
    data = write_dataset(tmp_path / "data", tables)
    tables_bad = dict(tables)
    before = _folder_digest(data)
    ds = load_dataset(data, report_dir=tmp_path / "r", data_docs=False)
    assert _folder_digest(data) == before
    (data / "_truth").mkdir()
    (data / "_truth" / "risk.csv").write_text("x\n1\n")
    (data / "notes.txt").write_text("ignored")
    assert load_dataset(data).fingerprint == ds.fingerprint
    tables_bad["persons"][0]["birth_date"] = "1970-01-02"
    write_dataset(data, {"persons": tables_bad["persons"]})
    assert load_dataset(data).fingerprint != ds.fingerprint


def test_strict_raises_exit_1_after_writing_report(tmp_path, tables):
    tables["incidents"][15]["perpetrator_id"] = "P999"
    with pytest.raises(UserError) as info:
        _load(tmp_path, tables, strict=True)
    assert info.value.exit_code == 1
    assert "missing_reference=1" in str(info.value)
    assert (tmp_path / "report" / "validation.json").is_file()
    # a clean dataset passes strict mode
    clean = load_dataset(write_dataset(tmp_path / "ok", _fresh()), strict=True)
    assert clean.report.quarantined == 0


def _fresh():
    from tests.contract.contract_data import valid_tables

    return valid_tables()


def test_report_folder_inside_input_refused(tmp_path, tables):
    data = write_dataset(tmp_path / "data", tables)
    with pytest.raises(UserError, match="input_read_only"):
        load_dataset(data, report_dir=data / "out")
    assert not (data / "out").exists()


def test_extra_question_column_checked_as_bool(tmp_path, tables, fmt):
    tables["risk_assessments"][2]["q_extra_local"] = "perhaps"
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"risk_assessments": {"invalid_type": 1}}


def test_interventions_rules(tmp_path, tables, fmt):
    """v1.1 interventions: quarantined like every table (time order, enum, person reference)."""
    rows = tables["interventions"]
    rows[1]["end_date"] = "2020-01-01"  # before start_date 2020-02-01
    rows[3]["end_recorded_at"] = "2020-01-31 00:00:00"  # before recorded_at
    rows[0]["kind"] = "house_arrest"
    rows[2]["person_id"] = "P999"
    rows.append({**rows[2], "intervention_id": "N9", "person_id": "P002", "kind": "SPO"})
    rows += [{**rows[2], "intervention_id": f"V{i}", "person_id": "P004"} for i in range(4)]
    ds = _load(tmp_path, tables, fmt)
    assert _counts(ds) == {"interventions": {
        "unknown_enum": 1, "end_before_start": 1, "end_recorded_before_recorded": 1,
        "missing_reference": 1,
    }}
    accepted = ds.tables["interventions"]
    assert accepted["intervention_id"].tolist()[0] == "N9" and accepted["kind"].iloc[0] == "spo"
    assert len(accepted) == 5
    assert str(accepted["end_recorded_at"].dtype) == "datetime64[ns]"
    _assert_accounting(ds, tables)
