"""The one reader of run folders: verify first, then typed records and typed frames.

Why verify on every open: explain, report, serve, compare, score and track all act on a run
folder long after it was written, and the worst failure seen was a silent one (a half-replaced
folder served with reasons from another model). A folder is read only if its ``run.json`` is of
this :data:`~riskcohort.runfolder.layout.SCHEMA_VERSION`, says ``complete: true`` and every file
listed under ``files`` has its recorded sha256. Anything else is one ``UserError`` naming the
folder and what is wrong. Only listed files are exposed: a file lying in the folder without
being listed (say, left by hand) does not exist for a reader.
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path

import pandas as pd

from riskcohort import io
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.runfolder.records import BacktestSummary, ExplanationSummary, Manifest, Metrics

logger = logging.getLogger(__name__)

RERUN = "re-run `riskcohort run` (with --overwrite) to rebuild it"


def _check_version(found, source: Path, expected: int) -> None:
    if found != expected:
        shown = "1 (unversioned)" if found is None else repr(found)
        raise UserError(f"run folder {source.parent}: {source.name} has schema version {shown}, "
                        f"this riskcohort reads version {expected}; rule: no guessing at other "
                        f"layouts; {RERUN}")


def read_manifest(run_dir: str | os.PathLike) -> Manifest:
    """``run.json`` of ``run_dir`` as a :class:`Manifest`, schema version checked (the files
    are not verified: use :func:`open_run` to read a run)."""
    root = Path(run_dir)
    if not root.is_dir():
        raise UserError(f"run folder {root}: not found (expected the --out of `riskcohort run`)")
    path = root / L.MANIFEST
    if not path.exists():
        raise UserError(f"run folder {root}: no {L.MANIFEST}; rule: a run folder is published "
                        f"whole by riskcohort, with its manifest; {RERUN}")
    data = io.read_json(path)
    _check_version(data.get("schema_version") if isinstance(data, dict) else None, path,
                   L.SCHEMA_VERSION)
    return Manifest.from_dict(data, str(path))


def verify_run(run_dir: str | os.PathLike) -> Manifest:
    """The manifest of a complete, unmodified run folder; a ``UserError`` otherwise."""
    root = Path(run_dir)
    manifest = read_manifest(root)
    problem = None
    if manifest.complete is not True:
        problem = "run.json does not say complete: true (an interrupted run)"
    elif manifest.digest != manifest.sealed_digest():
        problem = "run.json was edited after publication (its digest does not match)"
    else:
        for rel, digest in manifest.files.items():
            p = root / rel
            if not p.is_file():
                problem = f"{rel} is missing"
                break
            if io.sha256_file(p) != digest:
                problem = f"{rel} differs from its sha256 in run.json"
                break
    if problem:
        raise UserError(f"run folder {root}: incomplete or modified: {problem}; rule: a run folder "
                        f"is published whole and never edited; {RERUN}")
    return manifest


def is_run_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a run folder (has a run.json); not a verification."""
    return (Path(path) / L.MANIFEST).is_file()


def find_runs(path: str | os.PathLike) -> list[Path]:
    """``path`` itself if it is a run folder, else its run folders one level down (sorted)."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"run folder {p}: not a folder")
    if is_run_folder(p):
        return [p]
    found = sorted(q for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")
                   and is_run_folder(q))
    if not found:
        raise UserError(f"folder {p}: no {L.MANIFEST} in it or in its sub-folders (expected a "
                        "run folder of `riskcohort run` or a folder of them)")
    return found


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    if "person_id" in frame:
        frame["person_id"] = frame["person_id"].astype(str)
    if "as_of" in frame:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


class RunFolder:
    """A verified run folder: the manifest, and each file read once on first use.

    Frames come typed: ``person_id`` is ``str``, ``as_of`` is ``datetime64``. An optional file
    the run did not publish reads as ``None``.
    """

    def __init__(self, root: Path, manifest: Manifest) -> None:
        self.root = root
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"RunFolder({str(self.root)!r}, as_of={self.manifest.as_of!r})"

    def has(self, name: str) -> bool:
        """Whether the run published ``name`` (a file, or a folder holding published files),
        or holds it as a verified attachment."""
        if name in self.manifest.files or name in self.attachments:
            return True
        return any(rel.startswith(name.rstrip("/") + "/") for rel in self.manifest.files)

    def path(self, name: str) -> Path:
        """Path of a published file; a ``UserError`` if the run did not publish it."""
        if not self.has(name):
            raise UserError(f"run folder {self.root}: has no {name}; rule: only files listed in "
                            f"{L.MANIFEST} belong to the run")
        return self.root / name

    @cached_property
    def attachments(self) -> dict[str, Path]:
        """Verified attachments (derived files such as the report); stale ones are left out."""
        out = {}
        for rel, digest in self.manifest.attachments.items():
            p = self.root / rel
            if p.is_file() and io.sha256_file(p) == digest:
                out[rel] = p
            else:
                logger.warning("run folder %s: attachment %s is missing or stale; regenerate it",
                               self.root, rel)
        return out

    @property
    def as_of(self) -> pd.Timestamp:
        """The scoring date."""
        return pd.Timestamp(self.manifest.as_of)

    @property
    def data_dir(self) -> Path | None:
        """The input data folder (stored relative to the run folder), if recorded."""
        d = self.manifest.data_dir
        return (self.root / d).resolve() if d else None

    @property
    def model_dir(self) -> Path:
        """The model files (``CohortModel.load`` reads them)."""
        return self.path(L.MODEL_DIR)

    @property
    def feature_names(self) -> list[str]:
        """The model's inputs, in the booster's order."""
        return list(io.read_json(self.path(L.MODEL_FEATURE_NAMES)))

    def _frame(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        if not self.has(name):
            return None
        p = self.root / name
        if p.suffix == ".csv":
            return _typed(pd.read_csv(p, dtype={"person_id": str, "band": str},
                                      usecols=columns))
        return _typed(pd.read_parquet(p, columns=columns))

    @cached_property
    def scores(self) -> pd.DataFrame:
        """``scores.csv``: person_id, as_of, score, rank, in_cohort, band."""
        frame = self._frame(L.SCORES)
        if frame is None:
            raise UserError(f"run folder {self.root}: has no {L.SCORES}")
        missing = [c for c in L.SCORE_COLUMNS if c not in frame.columns]
        if missing:
            raise UserError(f"file {self.root / L.SCORES}: missing columns {missing}")
        frame["in_cohort"] = frame["in_cohort"].astype(str).str.lower().isin(["true", "1"])
        return frame

    @cached_property
    def features(self) -> pd.DataFrame | None:
        """``features.parquet``: the scored snapshot (person_id, as_of, indicators)."""
        return self._frame(L.FEATURES)

    def feature_column(self, name: str) -> pd.Series | None:
        """One column of ``features.parquet`` read alone (None when absent): a national
        snapshot is 3 GB whole, and reading it whole to take one figure per column took the
        MLflow step of a national run from 11 to 18 GB."""
        if not self.has(L.FEATURES):
            return None
        import pyarrow.parquet as pq

        if name not in pq.read_schema(self.root / L.FEATURES).names:
            return None
        return pd.read_parquet(self.root / L.FEATURES, columns=[name])[name]

    @cached_property
    def evaluation(self) -> pd.DataFrame | None:
        """``evaluation.parquet`` (backtests): outcomes and every system's score."""
        return self._frame(L.EVALUATION)

    @cached_property
    def metrics(self) -> Metrics | None:
        """``metrics.json`` as a :class:`Metrics` record."""
        if not self.has(L.METRICS):
            return None
        return Metrics.from_dict(io.read_json(self.root / L.METRICS), str(self.root / L.METRICS))

    def explanations(self, columns: list[str] | None = None) -> pd.DataFrame | None:
        """``explanations.parquet`` (long format), optionally only some columns."""
        return self._frame(L.EXPLANATIONS, columns)

    @cached_property
    def explanation_summary(self) -> ExplanationSummary | None:
        """``explanations.json`` as an :class:`ExplanationSummary`."""
        if not self.has(L.EXPLANATION_SUMMARY):
            return None
        p = self.root / L.EXPLANATION_SUMMARY
        return ExplanationSummary.from_dict(io.read_json(p), str(p))

    @cached_property
    def evidence(self) -> pd.DataFrame | None:
        """``evidence.parquet`` when the run precomputed it."""
        return self._frame(L.EVIDENCE)

    @cached_property
    def validation(self) -> dict | None:
        """``validation/validation.json`` of the input data (counts per table and rule)."""
        return io.read_json(self.root / L.VALIDATION_REPORT) if self.has(L.VALIDATION_REPORT) \
            else None

    @property
    def plots(self) -> list[Path]:
        """The global explanation plots (PNG and SVG)."""
        prefix = L.PLOTS_DIR + "/"
        return [self.root / rel for rel in sorted(self.manifest.files)
                if rel.startswith(prefix) and rel.endswith((".png", ".svg"))]

    def systems(self) -> list[str]:
        """Score columns of evaluation.parquet: the model first, then the baselines, oracle."""
        ev = self.evaluation
        if ev is None:
            return []
        cols = [c for c in ev.columns if c not in L.EVALUATION_KEYS
                and pd.api.types.is_numeric_dtype(ev[c])]
        return sorted(cols, key=lambda c: (c != L.MODEL_SYSTEM, c == "oracle", c))


def open_run(run_dir: str | os.PathLike) -> RunFolder:
    """Open a run folder for reading: schema version, ``complete`` and every sha256 checked."""
    root = Path(run_dir)
    return RunFolder(root, verify_run(root))


def read_backtest(folder: str | os.PathLike) -> BacktestSummary:
    """``backtest.json`` of a published backtest folder (version and completion checked)."""
    path = Path(folder) / L.BACKTEST
    if not path.is_file():
        raise UserError(f"backtest folder {Path(folder)}: no {L.BACKTEST}; rule: a backtest is "
                        "published whole by `riskcohort backtest`")
    data = io.read_json(path)
    _check_version(data.get("schema_version") if isinstance(data, dict) else None, path,
                   L.BACKTEST_SCHEMA_VERSION)
    summary = BacktestSummary.from_dict(data, str(path))
    if summary.complete is not True:
        raise UserError(f"backtest folder {Path(folder)}: {L.BACKTEST} does not say complete: "
                        "true (an interrupted backtest); re-run `riskcohort backtest`")
    return summary
