"""Property-based: malformed tables never crash the reader with anything but a UserError, the
row accounting always holds, and every error message names a file and a rule."""

from __future__ import annotations

import functools
import random
import re
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from riskcohort.contract import load_dataset
from riskcohort.errors import UserError
from tests.contract.contract_data import valid_tables, write_dataset

# No shrinking: each example reads a whole dataset, and shrinking a failure took minutes. A
# failure still reports the (unshrunk) example that broke.
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
TABLE_NAMES = sorted(valid_tables())
# text a force export could plausibly contain, including unicode and very long values
# (no surrogates: those cannot be written as UTF-8 at all)
TEXT = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["", " ", "NULL", "NaN", "1e9", "-1", "2020-02-30", "true", "ÄÖÜ", "日本"]),
    st.integers(min_value=2_000, max_value=20_000).map(lambda n: "x" * n),
)
FMT = st.sampled_from(["csv", "parquet"])


def _check(data: Path, tables: dict) -> None:
    """Load; on success check the accounting, on UserError check the message's shape."""
    try:
        ds = load_dataset(data, report_dir=data.parent / "report", data_docs=False)
    except UserError as exc:
        msg = str(exc)
        assert exc.exit_code == 2
        assert re.match(r"(file|folder) \S+", msg), msg
        assert "rule " in msg, msg
        return
    for name, rows in tables.items():
        t = ds.report.tables[name]
        assert t.read == len(rows) == t.accepted + t.quarantined
        assert sum(t.rules.values()) == t.quarantined
        q = pd.read_parquet(t.quarantine_file)
        assert len(q) == t.quarantined
        assert q["rule"].notna().all() and q["detail"].notna().all()


@SETTINGS
@given(
    table=st.sampled_from(TABLE_NAMES),
    cells=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 40), TEXT), max_size=8),
    fmt=FMT,
)
def test_random_cell_values(table, cells, fmt):
    tables = valid_tables()
    rows = tables[table]
    for r, c, value in cells:
        row = rows[r % len(rows)]
        row[list(row)[c % len(row)]] = value
    with tempfile.TemporaryDirectory() as tmp:
        _check(write_dataset(Path(tmp) / "d", tables, fmt), tables)


@SETTINGS
@given(
    table=st.sampled_from(TABLE_NAMES),
    column=st.integers(0, 40),
    wrong=st.sampled_from(["12.5", "yes", "2020-01-01", "", "abc", "-3", "2020-01-01T25:00:00"]),
    fmt=FMT,
)
def test_whole_column_of_wrong_values(table, column, wrong, fmt):
    tables = valid_tables()
    name = list(tables[table][0])[column % len(tables[table][0])]
    for row in tables[table]:
        row[name] = wrong
    with tempfile.TemporaryDirectory() as tmp:
        _check(write_dataset(Path(tmp) / "d", tables, fmt), tables)


@functools.cache
def _base(fmt: str):
    """The valid dataset loaded once per format (the reference for the shuffled variants)."""
    with tempfile.TemporaryDirectory() as tmp:
        return load_dataset(write_dataset(Path(tmp) / "a", valid_tables(), fmt))


@SETTINGS
@given(
    table=st.sampled_from(TABLE_NAMES),
    seed=st.integers(0, 10_000),
    extra=st.lists(st.text(min_size=1, max_size=12).filter(str.strip), max_size=3),
    fmt=FMT,
)
def test_shuffled_and_extra_columns_change_nothing(table, seed, extra, fmt):
    tables = valid_tables()
    columns = list(tables[table][0])
    random.Random(seed).shuffle(columns)
    frame = pd.DataFrame(tables[table])[columns]
    for i, name in enumerate(extra):
        frame[f"extra_{i}_{name}"] = name
    base = _base(fmt)
    with tempfile.TemporaryDirectory() as tmp:
        changed = dict(valid_tables(), **{table: frame})
        data = write_dataset(Path(tmp) / "b", changed, fmt)
        ds = load_dataset(data)
    got = ds.baseline_scores if table == "baseline_scores" else ds.tables[table]
    want = base.baseline_scores if table == "baseline_scores" else base.tables[table]
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(got[list(want.columns)], want)
    assert sum(str(c).startswith("extra_") for c in got.columns) == len(extra)


@SETTINGS
@given(
    table=st.sampled_from(TABLE_NAMES),
    mode=st.sampled_from(["empty", "garbage", "dup_column", "drop_column", "header_only"]),
    payload=st.binary(max_size=200),
    column=st.integers(0, 40),
    fmt=FMT,
)
def test_broken_files(table, mode, payload, column, fmt):
    tables = valid_tables()
    columns = list(tables[table][0])
    name = columns[column % len(columns)]
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "d", tables, fmt)
        path = data / f"{table}.{fmt}"
        if mode == "empty":
            path.write_bytes(b"")
        elif mode == "garbage":
            path.write_bytes(payload)
        elif mode == "header_only":
            path.unlink()
            pd.DataFrame(columns=columns).to_csv(path.with_suffix(".csv"), index=False)
            tables[table] = []
        else:
            frame = pd.DataFrame(tables[table])
            if mode == "drop_column":
                frame = frame.drop(columns=[name])
                path.unlink()
                frame.to_csv(path.with_suffix(".csv"), index=False)
            else:
                header = ",".join([*columns, name])
                body = "\n".join(",".join([*r.values(), r[name]]) for r in tables[table])
                path.unlink()
                path.with_suffix(".csv").write_text(header + "\n" + body + "\n")
        try:
            ds = load_dataset(data, report_dir=Path(tmp) / "r", data_docs=False)
        except UserError as exc:
            msg = str(exc)
            # an emptied table may make the tables referencing it fail instead
            assert f"{table}." in msg or mode == "header_only", msg
            assert re.match(r"file \S+\.(csv|parquet)", msg) and "rule " in msg, msg
            if mode == "dup_column":
                assert "duplicate_column" in msg and repr(name) in msg
            return
    # only an optional column dropped, a header-only file or readable garbage can get here
    assert mode in ("header_only", "garbage", "drop_column")
    if mode == "header_only":
        report = ds.report.tables[table]
        assert report.read == report.accepted + report.quarantined == 0


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), TEXT), max_size=20),
    type_=st.sampled_from(["id", "enum", "bool", "date", "timestamp", "float", "string"]),
)
def test_parsers_never_raise_and_flag_every_unparsed_value(values, type_):
    """Each present value is either parsed (non-null typed) or flagged invalid, never both."""
    from riskcohort.contract import coerce

    raw = pd.Series(values, dtype="str")
    typed, bad = coerce.parse(raw, type_, ("a", "b"))
    assert len(typed) == len(raw) == len(bad)
    present = coerce.blank_to_null(raw).notna().to_numpy()
    parsed = typed.notna().to_numpy()
    assert not (bad & ~present).any()  # a null is never "invalid", only missing
    assert ((parsed | bad) == present).all()
    assert not (parsed & bad).any()
