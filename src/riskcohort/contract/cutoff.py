"""A dataset as police knew it on a date: every record known before the cutoff, nothing after.

Used to replay history (the demo's first iteration is trained on the force as it stood six months
before the retrain) and by tests of point-in-time behaviour. The rules are the contract's time
rules: a record is kept when it was known before the cutoff; a relationship's end is blanked
when police learned of it later; a death after the cutoff is not yet known.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from riskcohort import io
from riskcohort.contract.schema import TABLES

# Columns that are facts learned later: blanked (not dropped) when learned on/after the cutoff.
LATER_FACTS = {
    "relationships": (("end_recorded_at", ("end_date", "end_recorded_at")),),
    "persons": (("death_date", ("death_date",)),),
    "custody": (("end_date", ("end_date",)),),
    "interventions": (("end_recorded_at", ("end_date", "end_recorded_at")),),
}


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return pd.read_parquet(path)


def _times(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column], errors="coerce", format="mixed")


def cut_table(name: str, frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows of one raw table known before ``cutoff``; later-learned facts blanked.

    Rows whose "known at" time does not parse are kept, so the validator still sees (and
    quarantines) them rather than the cut silently hiding bad input.

    >>> f = pd.DataFrame({"incident_id": ["a", "b"], "recorded_at": ["2024-01-01", "2024-03-01"]})
    >>> cut_table("incidents", f, pd.Timestamp("2024-02-01"))["incident_id"].tolist()
    ['a']
    """
    table = TABLES.get(name)
    out = frame
    if table is not None and table.known_at and table.known_at in frame.columns:
        known = _times(frame, table.known_at)
        out = frame[known.isna() | (known < cutoff)]
    for learned_col, blanked in LATER_FACTS.get(name, ()):
        if learned_col in out.columns:
            later = _times(out, learned_col) >= cutoff
            out = out.copy()
            for col in blanked:
                if col in out.columns:
                    out.loc[later, col] = None
    return out


def cut_dataset(src: str | Path, dst: str | Path, cutoff) -> Path:
    """Write the dataset in ``src`` as known before ``cutoff`` into ``dst`` (same formats).

    Also cuts the external baseline scores (``as_of`` before the cutoff) and the generator's
    ``_truth`` (months before the cutoff), so an oracle never sees past the cutoff either.
    """
    src, dst, cutoff = Path(src), Path(dst), pd.Timestamp(cutoff)
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if path.is_dir():
            continue
        name = path.stem
        is_table = name in TABLES or name == "baseline_scores"
        if path.suffix not in (".csv", ".parquet") or not is_table:
            shutil.copy2(path, dst / path.name)
            continue
        frame = _read(path)
        if name == "baseline_scores":
            frame = frame[_times(frame, "as_of") < cutoff]
        else:
            frame = cut_table(name, frame, cutoff)
        io.write_frame(dst / path.name, frame)
    truth = src / "_truth" / "risk.parquet"
    if truth.exists():
        frame = pd.read_parquet(truth)
        kept = frame[pd.to_datetime(frame["month_start"]) < cutoff]
        io.write_frame(dst / "_truth" / "risk.parquet", kept)
    return dst
