"""What explanations need from a scored run: the booster, its inputs, the stored scores.

Why its own view: explain works in two places. Inside a run (the job explains the staged
folder before it is published) and long after it (an officer asks about one person weeks later,
from the published folder alone). Both build a :class:`ScoredRun`; the files are always read
through :mod:`riskcohort.runfolder`, never by name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.explain.calibration import Calibration, load_calibration


@dataclass
class ScoredRun:
    """The model and the scored snapshot of one run, aligned row by row."""

    root: Path
    manifest: runfolder.Manifest
    booster: object  # lightgbm.Booster
    feature_names: list[str]
    features: pd.DataFrame  # person_id, as_of, <indicators>, aligned with ``scores``
    scores: pd.DataFrame  # person_id, as_of, score, rank, in_cohort, band
    calibration: Calibration
    data_dir: Path | None = None  # the input data folder, when known
    _medians: dict = field(default_factory=dict, repr=False)

    def medians(self, as_of) -> pd.Series:
        """Population median of each model input at one snapshot (cached: used per person)."""
        key = pd.Timestamp(as_of)
        if key not in self._medians:
            snap = self.features["as_of"] == key
            self._medians[key] = self.matrix(self.features.loc[snap]).median(skipna=True)
        return self._medians[key]

    def matrix(self, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """The model inputs in the booster's order (float; NaN = unknown)."""
        frame = self.features if frame is None else frame
        return frame[self.feature_names].astype(float)


def scored_run(root: Path, manifest: runfolder.Manifest, model_dir: Path, features: pd.DataFrame,
               scores: pd.DataFrame, data_dir: Path | None = None) -> ScoredRun:
    """A :class:`ScoredRun` from a model folder and in-memory frames (typed as the reader
    types them); a feature the model needs but the snapshot lacks is a ``UserError``."""
    import lightgbm as lgb

    from riskcohort.io import read_json

    booster = lgb.Booster(model_file=str(Path(model_dir) / "model.txt"))
    names = list(read_json(Path(model_dir) / "feature_names.json"))
    if names != list(booster.feature_name()):
        raise UserError(f"folder {model_dir}: feature_names.json differs from model.txt "
                        f"(examples: {names[:3]} vs {booster.feature_name()[:3]})")
    absent = [c for c in names if c not in features.columns]
    if absent:
        raise UserError(f"run folder {root}: features.parquet lacks model columns {absent[:5]}; "
                        "rule: the scored snapshot holds every feature of the model")
    features = features.assign(person_id=features["person_id"].astype(str),
                               as_of=pd.to_datetime(features["as_of"])).reset_index(drop=True)
    scores = scores.assign(person_id=scores["person_id"].astype(str),
                           as_of=pd.to_datetime(scores["as_of"]))
    keyed = features[["person_id", "as_of"]].merge(scores, on=["person_id", "as_of"], how="left",
                                                   validate="one_to_one")
    return ScoredRun(root=Path(root), manifest=manifest, booster=booster, feature_names=names,
                     features=features, scores=keyed.reset_index(drop=True),
                     calibration=load_calibration(model_dir), data_dir=data_dir)


def load_scored(run_dir: str | Path) -> ScoredRun:
    """Open a published run folder (verified) for explanations."""
    run = runfolder.open_run(run_dir)
    if run.features is None:
        raise UserError(f"run folder {run.root}: has no features.parquet; rule: explain needs "
                        "the scored snapshot")
    return scored_run(run.root, run.manifest, run.model_dir, run.features, run.scores,
                      run.data_dir)
