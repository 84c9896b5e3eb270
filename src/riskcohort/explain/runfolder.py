"""Read the parts of a run folder that explanations need, with clear errors when one is missing.

Why a reader of its own: explain runs long after ``riskcohort run`` (an officer asks about one
person weeks later), so it must rebuild everything from the folder alone: the LightGBM booster
and its feature order, the scored snapshot, the stored scores and ranks, and the calibrator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskcohort.errors import UserError
from riskcohort.explain.calibration import Calibration, load_calibration

REQUIRED = ("run.json", "scores.csv", "features.parquet", "model/model.txt")


@dataclass
class RunFolder:
    """Everything explain reads from one run folder."""

    root: Path
    manifest: dict
    booster: object  # lightgbm.Booster
    feature_names: list[str]
    features: pd.DataFrame  # person_id, as_of, <indicators>, aligned with ``scores``
    scores: pd.DataFrame  # person_id, as_of, score, rank, in_cohort, band
    calibration: Calibration
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


def _read_features(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    frame["person_id"] = frame["person_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def _read_scores(path: Path) -> pd.DataFrame:
    scores = pd.read_csv(path, dtype={"person_id": str})
    scores["as_of"] = pd.to_datetime(scores["as_of"])
    return scores


def load_run(run_dir: str | Path) -> RunFolder:
    """Load a run folder; a missing file or column is a ``UserError`` naming it."""
    import lightgbm as lgb

    root = Path(run_dir)
    missing = [name for name in REQUIRED if not (root / name).exists()]
    if missing:
        raise UserError(
            f"run folder {root}: missing {', '.join(missing)}; rule: explain needs a finished "
            "`riskcohort run` output folder"
        )
    manifest = json.loads((root / "run.json").read_text(encoding="utf-8"))
    booster = lgb.Booster(model_file=str(root / "model" / "model.txt"))
    names_path = root / "model" / "feature_names.json"
    names = (
        list(json.loads(names_path.read_text(encoding="utf-8")))
        if names_path.exists()
        else list(booster.feature_name())
    )
    if names != list(booster.feature_name()):
        raise UserError(
            f"file {names_path}: feature names differ from model/model.txt "
            f"(examples: {names[:3]} vs {booster.feature_name()[:3]})"
        )
    features = _read_features(root / "features.parquet")
    absent = [c for c in names if c not in features.columns]
    if absent:
        raise UserError(
            f"file {root / 'features.parquet'}: missing model columns {absent[:5]}; rule: the "
            "scored snapshot must hold every feature in model/feature_names.json"
        )
    scores = _read_scores(root / "scores.csv")
    keyed = features[["person_id", "as_of"]].merge(
        scores, on=["person_id", "as_of"], how="left", validate="one_to_one"
    )
    features = features.reset_index(drop=True)
    return RunFolder(
        root=root,
        manifest=manifest,
        booster=booster,
        feature_names=names,
        features=features,
        scores=keyed.reset_index(drop=True),
        calibration=load_calibration(root / "model"),
    )
