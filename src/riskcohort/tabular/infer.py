"""Type inference for a person-level table, learned on the training rows only.

``TableTyper`` follows scikit-learn's conventions: ``fit`` looks at the training rows (never the
test rows: their values must not shape the model, not even through a pooled category or a date
reference) and ``transform`` applies the same plan to any rows. The plan is plain data so it can
be printed and saved for a user to check: silent type guesses are how leaks get in.

>>> import pandas as pd
>>> df = pd.DataFrame({"n": ["1", "2", "3", "4"] * 10, "flag": ["yes", "no"] * 20})
>>> typer = TableTyper().fit(df, label=pd.Series([0, 0, 1, 1, 1] * 8))
>>> [(c.name, c.kind) for c in typer.plan]
[('n', 'numeric'), ('flag', 'boolean')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from riskcohort.tabular.roles import FALSE_WORDS, TRUE_WORDS

OTHER, MISSING = "__other__", "__missing__"
PARSE_SHARE = 0.95  # share of non-null values that must parse for a type to be chosen
LEAK_AUC = 0.99  # a single column separating the label this well is a copy of the outcome


@dataclass
class ColumnPlan:
    """What one input column becomes; ``kind == 'excluded'`` carries the reason."""

    name: str
    kind: str  # numeric | boolean | categorical | date | excluded
    reason: str = ""
    levels: list[str] = field(default_factory=list)
    reference: str | None = None  # for dates without a time column: the fixed reference date
    skewed: bool = False  # non-negative and right-skewed: the linear challenger logs it


def _as_bool(series: pd.Series) -> pd.Series | None:
    text = series.dropna().astype(str).str.strip().str.lower()
    if len(text) and set(text.unique()) <= TRUE_WORDS | FALSE_WORDS:
        lowered = series.astype(object).map(
            lambda v: None if pd.isna(v) else str(v).strip().lower()
        )
        values = np.where(lowered.isna(), np.nan, lowered.isin(TRUE_WORDS).astype(float))
        return pd.Series(values, index=series.index, name=series.name, dtype=float)
    return None


def _as_numeric(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    values = pd.to_numeric(series, errors="coerce")
    nonnull = series.notna().sum()
    if nonnull and values.notna().sum() >= PARSE_SHARE * nonnull:
        return values.astype(float)
    return None


def _as_date(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    if pd.api.types.is_numeric_dtype(series):
        return None
    values = pd.to_datetime(series, errors="coerce", format="mixed")
    nonnull = series.notna().sum()
    if nonnull and values.notna().sum() >= PARSE_SHARE * nonnull:
        return values
    return None


def _separates_label(values: pd.Series, label: pd.Series) -> bool:
    mask = values.notna()
    if mask.sum() < 10 or label[mask].nunique() < 2:
        return False
    auc = roc_auc_score(label[mask], values[mask])
    return max(auc, 1 - auc) >= LEAK_AUC


class TableTyper:
    """Learn a per-column plan on training rows; turn any rows into model-ready numbers."""

    def __init__(self, rare_share: float = 0.01, min_level_count: int = 10):
        self.rare_share = rare_share
        self.min_level_count = min_level_count

    def fit(self, frame: pd.DataFrame, label: pd.Series, time: pd.Series | None = None):
        label = pd.Series(np.asarray(label), index=frame.index)
        self.plan = [self._plan_column(frame[c], label, time) for c in frame.columns]
        self.has_time = time is not None
        return self

    def _plan_column(self, series, label, time) -> ColumnPlan:
        name = str(series.name)
        nonnull = series.dropna()
        if nonnull.nunique() <= 1:
            return ColumnPlan(name, "excluded", "constant (one value or empty in training rows)")
        boolean = _as_bool(series)
        numeric = None if boolean is not None else _as_numeric(series)
        dates = None if boolean is not None or numeric is not None else _as_date(series)
        unique_per_row = nonnull.nunique() == len(series) and len(series) >= 20
        integer_like = nonnull.astype(str).str.fullmatch(r"-?\d+").all()
        if unique_per_row and (numeric is None or integer_like):
            return ColumnPlan(name, "excluded", "identifier-like (a different value on every row)")
        if boolean is not None:
            plan, encoded = ColumnPlan(name, "boolean"), boolean
        elif numeric is not None:
            skewed = bool(numeric.min() >= 0 and numeric.skew() > 1.0)
            plan, encoded = ColumnPlan(name, "numeric", skewed=skewed), numeric
        elif dates is not None:
            reference = None if time is not None else str(dates.max().date())
            plan = ColumnPlan(name, "date", reference=reference)
            encoded = self._elapsed(dates, plan, time)
        else:
            counts = series.astype("string").value_counts()
            keep = counts[counts >= max(self.min_level_count, self.rare_share * len(series))]
            plan = ColumnPlan(name, "categorical", levels=sorted(keep.index.astype(str)))
            rates = label.groupby(self._levels(series, plan)).transform("mean")
            encoded = rates.astype(float)
        if label.nunique() == 2 and _separates_label(encoded, label):
            return ColumnPlan(name, "excluded", "near-duplicate of the label (leak)")
        return plan

    @staticmethod
    def _elapsed(dates: pd.Series, plan: ColumnPlan, time: pd.Series | None) -> pd.Series:
        reference = pd.Timestamp(plan.reference) if time is None else time
        return (reference - dates).dt.total_seconds() / 86400.0

    @staticmethod
    def _levels(series: pd.Series, plan: ColumnPlan) -> pd.Series:
        text = series.astype("string")
        pooled = text.where(text.isin(plan.levels), OTHER).where(text.notna(), MISSING)
        return pooled.astype(str)

    @property
    def inputs(self) -> list[ColumnPlan]:
        return [p for p in self.plan if p.kind != "excluded"]

    @property
    def excluded(self) -> list[ColumnPlan]:
        return [p for p in self.plan if p.kind == "excluded"]

    def transform(self, frame: pd.DataFrame, time: pd.Series | None = None) -> pd.DataFrame:
        """Model-ready frame: floats, and pandas categoricals with the training levels."""
        out = {}
        for p in self.inputs:
            col = frame[p.name]
            if p.kind == "boolean":
                out[p.name] = _as_bool(col) if col.notna().any() else col.astype(float)
            elif p.kind == "numeric":
                out[p.name] = pd.to_numeric(col, errors="coerce").astype(float)
            elif p.kind == "date":
                dates = pd.to_datetime(col, errors="coerce", format="mixed")
                out[p.name] = self._elapsed(dates, p, time)
            else:
                levels = [*p.levels, OTHER, MISSING]
                out[p.name] = pd.Categorical(self._levels(col, p), categories=levels)
        return pd.DataFrame(out, index=frame.index)

    def describe(self) -> list[dict]:
        """The plan as plain dicts (saved to ``types.json`` and printed)."""
        return [asdict(p) for p in self.plan]
