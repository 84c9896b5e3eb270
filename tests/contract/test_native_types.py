"""The loader's shortcuts give exactly what the text path gives.

Native Parquet timestamps, dates and booleans are parsed without their text
(``coerce.parse_native``), long text columns are parsed in slices (``coerce._chunked``) and the
file is kept as read, made text only for the rows shown in the quarantine: each must be
indistinguishable from parsing Arrow's text of the whole column at once.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskcohort.contract import coerce, load_dataset
from riskcohort.contract.reader import _pandas_text
from tests.contract.contract_data import write_dataset

EDGES = [
    dt.datetime(1500, 1, 1), dt.datetime(1677, 12, 31, 23, 59, 59), dt.datetime(1678, 1, 1),
    dt.datetime(2261, 12, 31, 23, 59, 59, 999999), dt.datetime(2262, 1, 1),
    dt.datetime(2300, 6, 1), dt.datetime(9999, 12, 31), dt.datetime(2020, 3, 29, 1, 30),
    dt.datetime(2020, 10, 25, 1, 30), None,
]
MOMENTS = st.one_of(
    st.sampled_from(EDGES),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
)
KINDS = [pa.timestamp("s"), pa.timestamp("ms"), pa.timestamp("us"),
         pa.timestamp("us", tz="Europe/London"), pa.timestamp("ms", tz="UTC"), pa.date32()]


def _via_text(array: pa.ChunkedArray, type_: str):
    return coerce.parse(_pandas_text(array), type_)


def _native_array(values, kind) -> pa.ChunkedArray:
    if pa.types.is_date32(kind):
        return pa.chunked_array([pa.array([v and v.date() for v in values], kind)])
    if pa.types.is_timestamp(kind) and kind.tz is not None:  # wall-clock times in that zone
        naive = pa.array(values, pa.timestamp(kind.unit))
        return pa.chunked_array([pc.assume_timezone(
            naive, kind.tz, ambiguous="earliest", nonexistent="earliest")])
    return pa.chunked_array([pa.array(values, kind)])


def _same_as_text(values, kind, type_):
    array = _native_array(values, kind)
    native, native_bad = coerce.parse_native(array, type_)
    text, text_bad = _via_text(array, type_)
    pd.testing.assert_series_equal(native, text, check_names=False, check_index_type=False)
    assert native_bad.tolist() == text_bad.tolist()
    return native_bad


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("type_", ["date", "timestamp"])
def test_range_edges_and_zones(kind, type_):
    bad = _same_as_text(EDGES, kind, type_)
    assert bad[0] and not bad[2] and bad[5]  # 1500 and 2300 invalid, 1678-01-01 valid


@settings(max_examples=80, deadline=None)
@given(values=st.lists(MOMENTS, max_size=30), kind=st.sampled_from(KINDS),
       type_=st.sampled_from(["date", "timestamp"]))
def test_native_dates_and_timestamps_parse_like_their_text(values, kind, type_):
    _same_as_text(values, kind, type_)


@pytest.mark.parametrize("chunks", [[], [[True, None, False]], [[None], [True, False, None]]])
def test_native_bools_parse_like_their_text(chunks):
    array = pa.chunked_array([pa.array(c, pa.bool_()) for c in chunks], pa.bool_())
    native, native_bad = coerce.parse_native(array, "bool")
    text, text_bad = _via_text(array, "bool")
    pd.testing.assert_series_equal(native, text, check_names=False, check_index_type=False)
    assert native_bad.tolist() == text_bad.tolist() and not native_bad.any()


def test_types_without_a_shortcut_go_through_text():
    assert coerce.parse_native(pa.chunked_array([pa.array([1, 2])]), "bool") is None
    assert coerce.parse_native(pa.chunked_array([pa.array(["2020-01-01"])]), "date") is None
    assert coerce.parse_native(pa.chunked_array([pa.array([0], pa.date64())]), "date") is None
    assert coerce.parse_native(pa.chunked_array([pa.array([1.0])]), "float") is None


@pytest.mark.parametrize("type_", ["timestamp", "date", "float"])
def test_parsing_in_slices_equals_parsing_at_once(monkeypatch, type_):
    pool = np.array(["2020-03-04", "2020-03-04T05:06:07.123456789", "2020-02-30", "1500-01-01",
                     "2261-12-31 23:59", "1.5", "1e-3", "nan", "x", " ", None], dtype=object)
    text = pd.Series(np.random.default_rng(0).choice(pool, 1000), dtype="str")
    whole, whole_bad = coerce.parse(text, type_)
    monkeypatch.setattr(coerce, "CHUNK_ROWS", 64)
    sliced, sliced_bad = coerce.parse(text, type_)
    pd.testing.assert_series_equal(sliced, whole, check_index_type=False)
    assert (sliced_bad == whole_bad).all()


def test_quarantine_shows_native_values_as_text(tmp_path, tables):
    """A bad row of a natively typed Parquet file is quarantined with the text of its values."""
    data = write_dataset(tmp_path / "d", tables, "parquet")
    inc = pd.read_parquet(data / "incidents.parquet")
    inc["occurred_at"] = pd.to_datetime(inc["occurred_at"], format="ISO8601")
    inc.loc[3, "occurred_at"] = pd.Timestamp("1600-01-01").as_unit("us")
    inc["recorded_at"] = pd.to_datetime(inc["recorded_at"]).dt.tz_localize("Europe/London")
    inc["domestic"] = inc["domestic"].str.lower().isin(["true", "1", "yes"])
    inc.to_parquet(data / "incidents.parquet", index=False)
    ds = load_dataset(data, report_dir=tmp_path / "r", data_docs=False)
    q = pd.read_parquet(tmp_path / "r" / "incidents.quarantine.parquet")
    assert q["rule"].tolist() == ["invalid_type"]
    assert q["detail"].tolist() == ["occurred_at='1600-01-01 00:00:00.000000'"]
    assert q["source_row"].tolist() == [4]
    assert q["domestic"].iloc[0] in ("true", "false") and str(q["domestic"].dtype) == "str"
    accepted = ds.tables["incidents"]
    assert str(accepted["recorded_at"].dtype) == "datetime64[ns]"
    assert str(accepted["domestic"].dtype) == "boolean"
