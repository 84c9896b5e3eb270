"""Read a run folder (docs/architecture.md, "The run folder") for the governance pack.

Why one module: the pack reads files other stages write, whose details may change; every read
goes through here so a change is absorbed in one place, and a missing optional file becomes an
explicit "not available" in the report instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskcohort.errors import UserError
from riskcohort.io import read_json

NON_SYSTEM_COLUMNS = {"person_id", "as_of", "serious_harm", "homicide", "harm_weight", "oracle"}


@dataclass
class Run:
    """What the pack needs from one run folder; ``None`` = file absent."""

    dir: Path
    manifest: dict
    metrics: dict | None = None
    scores: pd.DataFrame | None = None
    evaluation: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    validation: dict | None = None
    plots: list[Path] = field(default_factory=list)

    @property
    def as_of(self) -> pd.Timestamp | None:
        value = self.manifest.get("as_of") or (self.metrics or {}).get("as_of")
        if value is None and self.scores is not None and "as_of" in self.scores:
            value = self.scores["as_of"].iloc[0]
        return pd.Timestamp(value) if value is not None else None

    @property
    def data_dir(self) -> Path | None:
        d = self.manifest.get("data_dir")
        return Path(d) if d else None

    def systems(self) -> list[str]:
        """Score columns of evaluation.parquet: the model first, then baselines."""
        if self.evaluation is None:
            return []
        cols = [c for c in self.evaluation.columns if c not in NON_SYSTEM_COLUMNS
                and pd.api.types.is_numeric_dtype(self.evaluation[c])]
        return sorted(cols, key=lambda c: (c != "model", c))


def read_metrics(path: Path) -> dict | None:
    """metrics.json in one normalised shape: every metric entry a dict with value/lo/hi.

    A bare number is accepted as ``{"value": x}`` so older or partial files still render.
    """
    raw = read_json(Path(path), default=None)
    if raw is None:
        return None

    def norm(entry):
        if isinstance(entry, dict) and ("value" in entry or "diff" in entry):
            value = entry["value"] if "value" in entry else entry["diff"]
            return {"value": value, "lo": entry.get("lo"), "hi": entry.get("hi")}
        return {"value": entry} if isinstance(entry, int | float) else None

    def table(block):
        return {name: {m: e for m, v in (vals or {}).items() if (e := norm(v)) is not None}
                for name, vals in (block or {}).items() if isinstance(vals, dict)}

    out = dict(raw)
    # modelling.metrics.evaluate says "scores"/"differences"/"n"; the documented file
    # "systems"/"paired"/"population": accept both.
    out["systems"] = table(raw.get("systems") or raw.get("scores"))
    out["paired"] = table(raw.get("paired") or raw.get("differences"))
    out["population"] = raw.get("population", raw.get("n"))
    out["coverage"] = raw.get("coverage") or {}
    out["cautions"] = list(raw.get("cautions") or [])
    return out


def _ids_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    if "person_id" in frame:
        frame["person_id"] = frame["person_id"].astype(str)
    if "as_of" in frame:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def _frame(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    if path.suffix == ".csv":
        return _ids_as_str(pd.read_csv(path, dtype={"person_id": str}))
    return _ids_as_str(pd.read_parquet(path))


def load_run(run_dir) -> Run:
    """Load a run folder; a folder with neither run.json nor scores.csv is a user mistake."""
    d = Path(run_dir)
    if not d.is_dir():
        raise UserError(f"run folder {d}: not found (expected the OUT_DIR of `riskcohort run`)")
    manifest = read_json(d / "run.json", default=None)
    scores = _frame(d / "scores.csv")
    if manifest is None and scores is None:
        raise UserError(f"run folder {d}: neither run.json nor scores.csv found; "
                        "rule: a run folder is the OUT_DIR written by `riskcohort run`")
    plots = sorted(p for p in (d / "plots").glob("*") if p.suffix in (".png", ".svg")) \
        if (d / "plots").is_dir() else []
    return Run(dir=d, manifest=manifest or {}, metrics=read_metrics(d / "metrics.json"),
               scores=scores, evaluation=_frame(d / "evaluation.parquet"),
               features=_frame(d / "features.parquet"),
               validation=read_json(d / "validation" / "validation.json", default=None),
               plots=plots)


def previous_run_dir(run: Run, previous=None) -> Path | None:
    """The previous iteration: the explicit option, else what run.json says, else None."""
    for candidate in (previous, run.manifest.get("previous_run"),
                      run.manifest.get("previous_run_dir")):
        if candidate:
            p = Path(candidate)
            if not p.is_absolute() and not p.exists():
                p = run.dir.parent / p
            if p.is_dir():
                return p
            if candidate is previous:
                raise UserError(f"--previous {candidate}: run folder not found")
    return None


def _backtest_json(path: Path) -> pd.DataFrame | None:
    """``backtest.json`` of ``riskcohort backtest``: {"dates": [{"as_of", "model": {...}}]}."""
    data = read_json(path, default=None)
    rows = []
    for d in (data or {}).get("dates", []):
        model = d.get("model")
        if isinstance(model, dict) and d.get("as_of"):
            rows.append({"as_of": pd.Timestamp(d["as_of"]), "run": Path(str(d.get("run_dir",
                         d["as_of"]))).name, **{k: v for k, v in model.items()
                                               if isinstance(v, int | float)}})
    return pd.DataFrame(rows) if len(rows) > 1 else None


def sibling_metrics(run: Run) -> pd.DataFrame:
    """Model metrics per as_of date, for stability across backtest dates.

    Read from ``backtest.json`` (written by ``riskcohort backtest`` beside its run folders) in
    the run folder or its parent; else from the metrics.json of sibling run folders.
    """
    for p in (run.dir / "backtest.json", run.dir.parent / "backtest.json"):
        f = _backtest_json(p) if p.exists() else None
        if f is not None:
            f.attrs["source"] = f"{p.name} ({p.parent.name})"
            return f.sort_values("as_of", ignore_index=True)
    rows = []
    for d in sorted(p for p in run.dir.parent.iterdir() if p.is_dir()):
        m = read_metrics(d / "metrics.json")
        model = (m or {}).get("systems", {}).get("model")
        as_of = (m or {}).get("as_of") or (
            read_json(d / "run.json", default=None) or {}).get("as_of")
        if not model or not as_of:
            continue
        row = {"as_of": pd.Timestamp(as_of), "run": d.name}
        row.update({k: v.get("value") for k, v in model.items()})
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values(["as_of", "run"]).drop_duplicates("as_of", keep="last")
    out.attrs["source"] = "sibling run folders"
    return out.reset_index(drop=True)
