"""What ``riskcohort score`` needs from MLflow: the source run's settings and its provenance.

Why: between retrains a force re-scores its population every month with the model it approved
(the champion). Features must be built with the outcome settings of the run that produced the
model (its run.json, logged with it), so the model sees the indicators it was trained on. The
job itself (validate, build, score, explain, publish) is ``riskcohort.workflow.score``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from riskcohort.runfolder import layout as L

#: Settings taken from the source run's manifest (defaults when it lacks them).
SETTINGS = {"horizon_days": 365, "lookback_days": 1825, "domestic_only": True, "k": 100,
            "bands": None, "serious_offences": None}
#: Fields of the source manifest carried into the scoring run's manifest.
CARRIED = ("experiment", "hyperparameters", "calibration", "serious_offences",
           "training_snapshots")


def source_manifest(c, run_id: str) -> dict:
    """run.json as logged with the model's run ({} when that artifact is absent)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=L.MANIFEST,
                                                       dst_path=tmp, tracking_uri=c.tracking_uri)
        except Exception:  # noqa: BLE001 - older runs without run.json still score
            return {}
        return json.loads(Path(path).read_text(encoding="utf-8"))


def settings(src: dict) -> dict:
    """The outcome and cohort settings of the source run (defaults where it lacks them)."""
    return {key: src.get(key) or default for key, default in SETTINGS.items()}


def scored_with(reg, model_ref) -> dict:
    """Provenance of a scoring run: which registered model, version, aliases and MLflow run."""
    return {"model": reg.name, "version": reg.version, "aliases": list(reg.aliases),
            "run_id": reg.run_id, "ref": str(model_ref)}
