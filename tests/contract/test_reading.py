"""Reading details: native Parquet types, BOM, quoting, whitespace, time zones, parsers."""

from __future__ import annotations

import pandas as pd
import pytest

from riskcohort.contract import coerce, load_dataset
from tests.contract.contract_data import write_dataset


def test_native_parquet_types_read_like_text(tmp_path, tables):
    """A writer using real Parquet types (timestamps, bools, ints) gives the same tables."""
    text = load_dataset(write_dataset(tmp_path / "a", tables, "parquet"))
    native = {}
    for name, frame in text.tables.items():
        native[name] = frame.copy()
    native["baseline_scores"] = text.baseline_scores
    inc = native["incidents"]
    inc["occurred_at"] = inc["occurred_at"].dt.tz_localize("Europe/London")  # zone-aware
    data = tmp_path / "b"
    data.mkdir()
    for name, frame in native.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    got = load_dataset(data)
    for name in text.tables:
        pd.testing.assert_frame_equal(got.tables[name], text.tables[name])
    pd.testing.assert_frame_equal(got.baseline_scores, text.baseline_scores)


def test_integer_ids_in_parquet_are_text(tmp_path, tables):
    data = write_dataset(tmp_path / "d", tables, "parquet")
    frame = pd.DataFrame(
        {
            "custody_id": [1, 2],
            "person_id": ["P001", "P002"],
            "start_date": ["2018-01-01"] * 2,
            "end_date": [None, None],
            "kind": ["remand"] * 2,
        }
    )
    frame.to_parquet(data / "custody.parquet", index=False)
    got = load_dataset(data).tables["custody"]
    assert got["custody_id"].tolist() == ["1", "2"]


def test_bom_quotes_and_whitespace(tmp_path, tables):
    tables["referrals"][0]["note_free_text"] = 'said "stop",\nthen left'
    tables["markers"][1]["person_id"] = "  P001 "
    data = write_dataset(tmp_path / "d", tables)
    raw = (data / "persons.csv").read_bytes()
    (data / "persons.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    ds = load_dataset(data)
    assert ds.report.quarantined == 0
    assert ds.tables["persons"].columns[0] == "person_id"
    assert ds.tables["referrals"]["note_free_text"].iloc[0] == 'said "stop",\nthen left'
    assert ds.tables["markers"]["person_id"].iloc[1] == "P001"


@pytest.mark.parametrize(
    ("value", "ok", "expected"),
    [
        ("2020-03-04", True, "2020-03-04 00:00:00"),
        ("2020-03-04T05:06:07", True, "2020-03-04 05:06:07"),
        ("2020-03-04 05:06:07", True, "2020-03-04 05:06:07"),
        ("2020-03-04 05:06:07.250000", True, "2020-03-04 05:06:07.250000"),
        ("2020-02-30", False, None),
        ("04/03/2020", False, None),
        ("2020-03-04T05:06:07+01:00", False, None),
        ("1500-01-01", False, None),
        ("9999-12-31", False, None),
    ],
)
def test_timestamp_parser(value, ok, expected):
    typed, bad = coerce.parse(pd.Series([value, None], dtype="str"), "timestamp")
    assert bad.tolist() == [not ok, False]
    assert str(typed.dtype) == "datetime64[ns]"
    if ok:
        assert typed.iloc[0] == pd.Timestamp(expected)
    assert pd.isna(typed.iloc[1])


def test_date_parser_truncates_to_day_and_float_parser():
    typed, bad = coerce.parse(pd.Series(["2020-03-04 13:00:00"], dtype="str"), "date")
    assert typed.iloc[0] == pd.Timestamp("2020-03-04") and not bad.any()
    values, bad = coerce.parse(pd.Series(["0.5", "1e-3", "high", " "], dtype="str"), "float")
    assert values.iloc[:2].tolist() == [0.5, 0.001]
    assert bad.tolist() == [False, False, True, False]
    assert str(values.dtype) == "float64"


def test_baseline_scores_given_by_path(tmp_path, tables):
    baseline = tables.pop("baseline_scores")
    data = write_dataset(tmp_path / "d", tables)
    assert load_dataset(data).baseline_scores is None
    path = tmp_path / "elsewhere" / "ilas.csv"
    path.parent.mkdir()
    pd.DataFrame(baseline).to_csv(path, index=False)
    got = load_dataset(data, baseline_path=path).baseline_scores
    assert got["score"].tolist() == [0.0, 0.1, 0.2, 0.3]
    assert str(got["as_of"].dtype) == "datetime64[ns]" and str(got["in_cohort"].dtype) == "boolean"
