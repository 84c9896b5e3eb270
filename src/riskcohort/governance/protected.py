"""Join protected attributes and the oracle's true risk onto scored people, for the audit only.

Why separate: protected characteristics (``contract.schema.PROTECTED_COLUMNS``) must never reach a
model. They are read here, from the dataset's persons table, joined on ``person_id`` and used only
to disaggregate results. Age band is derived from ``birth_date`` at the run's ``as_of``.

>>> import pandas as pd
>>> age_band(pd.Series(pd.to_datetime(["2000-06-01", "1950-01-01", None])),
...          pd.Timestamp("2024-01-01")).tolist()
['under 25', '65 and over', 'unknown']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.contract.schema import TABLES

AGE_BANDS = ((0, "under 25"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"),
             (65, "65 and over"))
PERSON_COLUMNS = ("person_id", "birth_date", "sex", "ethnicity")


def table_path(data_dir: Path, name: str) -> Path | None:
    """The file of a contract table (Parquet preferred, then CSV), or None."""
    for suffix in (".parquet", ".csv"):
        p = Path(data_dir) / f"{name}{suffix}"
        if p.exists():
            return p
    return None


def read_columns(path: Path, columns) -> pd.DataFrame:
    """Read only ``columns`` (those present) of a table file, everything as read by the contract."""
    if path.suffix == ".csv":
        head = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, usecols=[c for c in columns if c in head], dtype=str)
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    return pd.read_parquet(path, columns=[c for c in columns if c in names])


def age_band(birth_date: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Age band at ``as_of`` (whole years); missing birth date -> 'unknown'."""
    b = pd.to_datetime(birth_date, errors="coerce")
    before_birthday = (b.dt.month > as_of.month) | (
        (b.dt.month == as_of.month) & (b.dt.day > as_of.day))
    years = as_of.year - b.dt.year - before_birthday.astype(int)
    cuts = [lo for lo, _ in AGE_BANDS] + [np.inf]
    bands = pd.cut(years, cuts, right=False, labels=[n for _, n in AGE_BANDS])
    return bands.astype("string").fillna("unknown").astype(object)


def attach_protected(frame: pd.DataFrame, data_dir: Path | None, as_of) -> pd.DataFrame:
    """``frame`` + sex, ethnicity, age_band (``unknown`` where the person is not found)."""
    out = frame.copy()
    path = table_path(data_dir, "persons") if data_dir else None
    if path is None:
        out.attrs["protected_note"] = f"persons table not found in {data_dir}"
        for c in ("sex", "ethnicity", "age_band"):
            out[c] = "unknown"
        return out
    persons = read_columns(path, PERSON_COLUMNS)
    persons["person_id"] = persons["person_id"].astype(str)
    persons = persons.drop_duplicates("person_id")
    out = out.merge(persons, on="person_id", how="left")
    for c in ("sex", "ethnicity"):
        col = out[c] if c in out else pd.Series(np.nan, index=out.index)
        out[c] = col.astype("string").str.lower().fillna("unknown").astype(object)
    birth = out["birth_date"] if "birth_date" in out else pd.Series(pd.NaT, index=out.index)
    out["age_band"] = age_band(birth, pd.Timestamp(as_of))
    return out.drop(columns=["birth_date"], errors="ignore")


def _truth_month(path: Path, month: pd.Timestamp) -> pd.Timestamp:
    """The latest ``month_start`` of the truth file on or before ``month``, else its first."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    starts = pq.read_table(path, columns=["month_start"]).column(0).cast(pa.date32())
    before = pc.filter(starts, pc.less_equal(starts, pa.scalar(month.date(), pa.date32())))
    return pd.Timestamp((pc.max(before) if len(before) else pc.min(starts)).as_py())


def attach_true_risk(frame: pd.DataFrame, data_dir: Path | None, as_of,
                     evaluation: pd.DataFrame | None = None) -> pd.DataFrame:
    """``frame`` + ``true_risk`` from evaluation's oracle column, else ``_truth/risk.parquet``.

    The oracle exists only for synthetic data; without it ``true_risk`` is absent and the report
    says the equal-risk check could not be run.
    """
    out = frame.copy()
    if evaluation is not None and "oracle" in evaluation and evaluation["oracle"].notna().any():
        o = evaluation[["person_id", "oracle"]].drop_duplicates("person_id")
        out = out.merge(o.rename(columns={"oracle": "true_risk"}), on="person_id", how="left")
        out.attrs["true_risk_source"] = "evaluation.parquet oracle column"
        return out
    path = Path(data_dir) / "_truth" / "risk.parquet" if data_dir else None
    if path is None or not path.exists():
        return out
    pick = _truth_month(path, pd.Timestamp(as_of).to_period("M").to_timestamp())
    # one month read (a national truth file is 150 M person-months, ~9 GB read whole)
    risk = pd.read_parquet(path, columns=["person_id", "p_serious_harm"],
                           filters=[("month_start", "==", pick.date())])
    risk["person_id"] = risk["person_id"].astype(str)
    risk = risk.drop_duplicates("person_id")
    out = out.merge(risk.rename(columns={"p_serious_harm": "true_risk"}), on="person_id",
                    how="left")
    out.attrs["true_risk_source"] = f"_truth/risk.parquet at month_start {pick.date()}"
    return out


def source_summary(data_dir: Path | None) -> list[dict]:
    """Per contract table: present or absent, rows, and the range of its 'known at' column."""
    rows = []
    for name, table in TABLES.items():
        path = table_path(data_dir, name) if data_dir and Path(data_dir).is_dir() else None
        row = {"table": name, "required": table.required, "present": path is not None,
               "rows": None, "from": None, "to": None, "column": table.known_at}
        if path is not None and table.known_at:
            col = read_columns(path, [table.known_at])
            if table.known_at in col:
                t = pd.to_datetime(col[table.known_at], errors="coerce", format="mixed")
                row.update(rows=len(col), **{"from": _day(t.min()), "to": _day(t.max())})
        elif path is not None:
            row["rows"] = len(read_columns(path, [table.key]))
        rows.append(row)
    return rows


def _day(ts) -> str | None:
    return None if pd.isna(ts) else str(pd.Timestamp(ts).date())
