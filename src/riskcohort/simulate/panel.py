"""Read a simulated dataset for the fact check and build an as-of panel with labels.

Why not the contract loader: the check must be quick on the force preset and only needs a few
columns; it drops the injected defective rows the same simple way (duplicate keys, missing
required values, unknown codes) and then works on plain frames. The panel follows the contract
time rules: scored population at T = alive persons with a domestic incident recorded in the five
years before T; label = a serious-harm domestic incident occurring in [T, T + 365 days).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.contract.schema import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_LOOKBACK_DAYS,
    OFFENCES,
    SERIOUS_HARM_OFFENCES,
    TABLES,
)
from riskcohort.errors import UserError

DAY = pd.Timedelta(days=1)


def read(data_dir: Path, name: str, columns=None) -> pd.DataFrame | None:
    """One table as a frame with contract-typed date/timestamp/bool columns; None if absent."""
    for ext in (".parquet", ".csv"):
        path = Path(data_dir) / f"{name}{ext}"
        if path.exists():
            f = pd.read_parquet(path, columns=columns) if ext == ".parquet" else \
                pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False,
                            na_values=[""])
            break
    else:
        return None
    t = TABLES[name]
    for c in t.columns:
        if c.name not in f:
            continue
        if c.type in ("date", "timestamp"):
            f[c.name] = pd.to_datetime(f[c.name], errors="coerce").astype("datetime64[ns]")
        elif c.type == "bool":
            f[c.name] = f[c.name].astype(str).str.lower().isin(["true", "1", "yes"])
    need = [c.name for c in t.columns if not c.nullable and c.name in f]
    f = f.dropna(subset=need).drop_duplicates(subset=[t.key])
    for c in t.columns:
        if c.values and c.name in f:
            f = f[f[c.name].isna() | f[c.name].isin(c.values)]
    return f.reset_index(drop=True)


class Data:
    """The frames the fact check needs, cleaned of injected defects."""

    def __init__(self, data_dir):
        self.root = Path(data_dir)
        if not self.root.is_dir():
            raise UserError(f"folder {data_dir}: rule dataset_folder: not a folder")
        self.persons = read(self.root, "persons")
        inc = read(self.root, "incidents")
        if self.persons is None or inc is None:
            raise UserError(f"folder {data_dir}: rule required_table: persons and incidents "
                            "are required")
        inc = inc[inc["recorded_at"] >= inc["occurred_at"]]
        self.incidents = inc
        self.da = inc[inc["domestic"]].copy()
        self.relationships = read(self.root, "relationships")
        self.assessments = read(self.root, "risk_assessments")
        self.markers = read(self.root, "markers")
        self.end = inc["recorded_at"].max().normalize() + DAY
        self.start = inc["recorded_at"].min().normalize()
        truth = self.root / "_truth" / "risk.parquet"
        self.truth = pd.read_parquet(truth) if truth.exists() else None

    def as_of_dates(self) -> list[pd.Timestamp]:
        """Quarterly dates with a year of history behind and a full horizon ahead."""
        first = (self.start + pd.DateOffset(years=1)).to_period("Q").start_time
        last = self.end - pd.Timedelta(days=DEFAULT_HORIZON_DAYS)
        return list(pd.date_range(first, last, freq="QS"))


def _last_before(events: pd.DataFrame, col: str, person_col: str, as_of) -> pd.Series:
    e = events[events[col] < as_of]
    return e.groupby(person_col)[col].max()


def panel(data: Data) -> pd.DataFrame:
    """One row per (person, as_of): label, simple rule scores, strangulation, suicide marker."""
    da = data.da
    sh = da[da["offence"].isin(SERIOUS_HARM_OFFENCES)]
    dead = data.persons.set_index("person_id")["death_date"]
    harm = _harm_weights()
    da = da.assign(harm=da["offence"].map(harm).fillna(0.0))
    ra = data.assessments
    mk = data.markers
    strang_inc = da[da["offence"] == "strangulation"]
    rows = []
    for t in data.as_of_dates():
        known = da[(da["recorded_at"] < t) & (da["recorded_at"] >= t - DEFAULT_LOOKBACK_DAYS * DAY)]
        pop = pd.Index(known["perpetrator_id"].unique())
        d = dead.reindex(pop)
        pop = pop[~(d.notna() & (d <= t)).to_numpy()]
        y1 = known[known["recorded_at"] >= t - 365 * DAY]
        f = pd.DataFrame(index=pop)
        f["as_of"] = t
        f["da_count_365d"] = y1.groupby("perpetrator_id").size().reindex(pop).fillna(0)
        f["harm_365d"] = y1.groupby("perpetrator_id")["harm"].sum().reindex(pop).fillna(0)
        f["dash_high_12m"] = 0.0
        f["strangulation"] = False
        f["suicide_marker"] = False
        if ra is not None:
            r = ra[(ra["assessed_at"] < t)]
            hi = r[(r["grade"] == "high") & (r["assessed_at"] >= t - 365 * DAY)]
            f["dash_high_12m"] = pop.isin(hi["perpetrator_id"]).astype(float)
            qs = r[r["q_strangulation"]]["perpetrator_id"]
            f["strangulation"] = pop.isin(qs)
        f["strangulation"] |= pop.isin(strang_inc[strang_inc["recorded_at"] < t]["perpetrator_id"])
        if mk is not None:
            m = mk[(mk["kind"] == "suicide_self_harm") & (mk["recorded_at"] < t)]
            f["suicide_marker"] = pop.isin(m["person_id"])
        out = sh[(sh["occurred_at"] >= t) & (sh["occurred_at"] < t + DEFAULT_HORIZON_DAYS * DAY)]
        f["serious_harm"] = pop.isin(out["perpetrator_id"]).astype(int)
        rows.append(f.rename_axis("person_id").reset_index())
    p = pd.concat(rows, ignore_index=True)
    if data.truth is not None:
        tr = data.truth.rename(columns={"month_start": "as_of"})
        tr["as_of"] = pd.to_datetime(tr["as_of"]).astype("datetime64[ns]")
        p = p.merge(tr, on=["person_id", "as_of"], how="left")
    return p


def _harm_weights() -> dict[str, float]:
    """The features stage's Crime-Harm weights (one table for the whole project)."""
    from riskcohort.contract.harm import HARM_WEIGHTS

    return {o: float(HARM_WEIGHTS.get(o, 0.0)) for o in OFFENCES}


def auc(y, s) -> float:
    """ROC AUC by ranks (ties averaged); NaN if one class is missing."""
    y = np.asarray(y).astype(bool)
    n1, n0 = y.sum(), (~y).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = pd.Series(np.asarray(s, dtype=float)).rank().to_numpy()
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
