"""A run among its neighbours: the previous iteration and the metrics of a backtest's dates.

Why here: both are reads of run folders (the previous run's, the backtest summary beside a
run), so they go through the one reader and its verification like every other read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.runfolder.reader import RunFolder, is_run_folder, open_run, read_backtest


def previous_run_dir(run: RunFolder, previous: str | os.PathLike | None = None,
                     work: str | os.PathLike | None = None) -> Path | None:
    """The previous iteration's folder: the explicit ``previous``, else run.json's
    ``previous_run`` (a path relative to the work folder, default the run folder's parent's
    parent, or a sibling name), else None. An explicit one that does not exist is an error."""
    if previous:
        p = Path(previous)
        if not p.is_dir():
            raise UserError(f"--previous {previous}: run folder not found")
        return p
    recorded = run.manifest.previous_run
    if not recorded:
        return None
    bases = [Path(work)] if work else []
    bases += [run.root.parent.parent, run.root.parent]
    for base in bases:
        p = base / recorded
        if p.is_dir() and is_run_folder(p):
            return p
    return None  # a run id, or a folder no longer here: no drift section, not an error


def _backtest_rows(folder: Path) -> pd.DataFrame | None:
    summary = read_backtest(folder)
    rows = []
    for d in summary.dates:
        model = d.get(L.MODEL_SYSTEM)
        if isinstance(model, dict) and d.get("as_of"):
            rows.append({"as_of": pd.Timestamp(d["as_of"]), "run": str(d.get("run_dir",
                         d["as_of"])), **{k: v for k, v in model.items()
                                          if isinstance(v, int | float)}})
    return pd.DataFrame(rows) if len(rows) > 1 else None


def sibling_metrics(run: RunFolder) -> pd.DataFrame:
    """Model metrics per as-of date, for stability across backtest dates.

    From ``backtest.json`` of the backtest folder holding the run (or in the run folder);
    else from the metrics of sibling run folders (each verified; an unverifiable sibling is
    left out, never guessed at).
    """
    for folder in (run.root, run.root.parent):
        if (folder / L.BACKTEST).exists():
            f = _backtest_rows(folder)
            if f is not None:
                f.attrs["source"] = f"{L.BACKTEST} ({folder.name})"
                return f.sort_values("as_of", ignore_index=True)
    rows = []
    for d in sorted(p for p in run.root.parent.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and is_run_folder(p)):
        try:
            other = run if d == run.root else open_run(d)
        except UserError:
            continue
        model = other.metrics.scores.get(L.MODEL_SYSTEM) if other.metrics else None
        if not model:
            continue
        row = {"as_of": other.as_of, "run": d.name}
        row.update({k: v.get("value") for k, v in model.items()})
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values(["as_of", "run"]).drop_duplicates("as_of", keep="last")
    out.attrs["source"] = "sibling run folders"
    return out.reset_index(drop=True)
