"""Column roles of a person-level table, and the checks that turn user mistakes into messages.

A force's table has one row per person: an id, an outcome label, maybe a time column, the scores of
tools it uses today (baselines), protected characteristics (audit only) and everything else as
candidate inputs. Roles are declared, never guessed, because a mistaken role (a protected column
used as input, a baseline leaking into the model) is exactly the failure a governance board fears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.errors import UserError, examples

TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
MIN_POSITIVES = 20


@dataclass(frozen=True)
class Roles:
    """Declared column roles; every other column is a candidate input."""

    id: str
    label: str
    time: str | None = None
    baselines: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    increasing: tuple[str, ...] = ()
    decreasing: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def reserved(self) -> tuple[str, ...]:
        """Columns that are never model inputs."""
        own = (self.id, self.label, *(() if self.time is None else (self.time,)))
        return own + self.baselines + self.protected + self.drop


def split_list(value: str | None) -> tuple[str, ...]:
    """Parse ``"a,b , c"`` into ``("a", "b", "c")``.

    >>> split_list("a, b,,c")
    ('a', 'b', 'c')
    >>> split_list(None)
    ()
    """
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table without modifying it; all CSV cells start as strings."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001 - any reader failure is a user-facing file problem
        raise UserError(f"{path}: cannot read the file ({type(exc).__name__}: {exc})") from exc
    raise UserError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")


def parse_label(series: pd.Series, name: str, source: str) -> pd.Series:
    """Return the label as 0/1 integers, or say precisely why it is not binary."""
    if series.isna().any():
        bad = series[series.isna()].index[:5].tolist()
        raise UserError(
            f"{source}: label column {name!r} has {int(series.isna().sum())} missing values "
            f"(rule: label must be 0/1 for every row; e.g. rows {bad})"
        )
    text = series.astype(str).str.strip().str.lower()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all() and set(np.unique(numeric)) <= {0.0, 1.0}:
        return numeric.astype(int)
    mapped = text.map(lambda v: 1 if v in TRUE_WORDS else 0 if v in FALSE_WORDS else None)
    if mapped.notna().all():
        return mapped.astype(int)
    bad = series[mapped.isna()].tolist()
    raise UserError(
        f"{source}: label column {name!r} is not binary (rule: values must be 0/1 or "
        f"true/false; found {series.nunique()} distinct values, e.g. {examples(bad)})"
    )


def check_roles(frame: pd.DataFrame, roles: Roles, source: str) -> pd.Series:
    """Validate declared roles against the table; return the parsed 0/1 label."""
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise UserError(f"{source}: duplicate column names {examples(dup)}")
    declared = [roles.id, roles.label, *filter(None, [roles.time]), *roles.baselines,
                *roles.protected, *roles.drop, *roles.increasing, *roles.decreasing]
    unknown = [c for c in declared if c not in frame.columns]
    if unknown:
        raise UserError(
            f"{source}: unknown column(s) {examples(unknown)} (rule: declared columns must "
            f"exist; the table has {examples(list(frame.columns), limit=12)})"
        )
    if len(frame) == 0:
        raise UserError(f"{source}: the table has no rows")
    ids = frame[roles.id]
    if ids.isna().any():
        raise UserError(f"{source}: id column {roles.id!r} has missing values")
    dup_ids = ids[ids.duplicated()]
    if len(dup_ids):
        raise UserError(
            f"{source}: id column {roles.id!r} has {len(dup_ids)} duplicated values "
            f"(rule: one row per person; e.g. {examples(dup_ids.tolist())})"
        )
    label = parse_label(frame[roles.label], roles.label, source)
    positives = int(label.sum())
    if positives < MIN_POSITIVES or len(label) - positives < MIN_POSITIVES:
        raise UserError(
            f"{source}: label column {roles.label!r} has {positives} positives and "
            f"{len(label) - positives} negatives (rule: at least {MIN_POSITIVES} of each are "
            "needed to train and evaluate honestly)"
        )
    overlap = set(roles.increasing) & set(roles.decreasing)
    if overlap:
        raise UserError(f"columns both --increasing and --decreasing: {examples(sorted(overlap))}")
    return label


def parse_time(series: pd.Series, name: str, source: str) -> pd.Series:
    """Parse the time column to datetimes or name the rows that do not parse."""
    parsed = pd.to_datetime(series, errors="coerce", format="mixed")
    bad = series[parsed.isna()]
    if len(bad):
        raise UserError(
            f"{source}: time column {name!r} has {len(bad)} values that are not dates "
            f"(rule: YYYY-MM-DD or an ISO timestamp; e.g. {examples(bad.tolist())})"
        )
    return parsed
