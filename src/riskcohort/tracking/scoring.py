"""Score with a registered model, without training: ``riskcohort score --model champion``.

Why: between retrains a force re-scores its population every month with the model it approved
(the champion), not a freshly trained one. The output is an ordinary run folder (scores.csv,
features.parquet, run.json, model/), so explain and the app work on it unchanged. Features are
built with the outcome settings of the run that produced the model (read from its run.json
artifact), so the model sees the indicators it was trained on.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from riskcohort.errors import UserError
from riskcohort.io import write_frame, write_json
from riskcohort.tracking import params, registry, store

#: Settings taken from the source run's manifest (defaults when it lacks them).
SETTINGS = {"horizon_days": 365, "lookback_days": 1825, "domestic_only": True, "k": 100,
            "bands": None, "serious_offences": None}


def source_manifest(c, run_id: str) -> dict:
    """run.json as logged with the model's run ({} when that artifact is absent)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="run.json",
                                                       dst_path=tmp, tracking_uri=c.tracking_uri)
        except Exception:  # noqa: BLE001 - older runs without run.json still score
            return {}
        return json.loads(Path(path).read_text(encoding="utf-8"))


def score_features(model_dir: Path, feats):
    """Calibrated probabilities of a registered model for a features frame (missing -> NaN)."""
    from riskcohort.modelling.model import CohortModel

    model = CohortModel.load(model_dir)
    return model, model.predict_risk(feats)


def score_registered(model_ref, data_dir, as_of, out_dir, *, tracking_uri: str | None = None,
                     work=None, k: int | None = None) -> Path:
    """Write a run folder scoring ``data_dir`` at ``as_of`` with a registered model."""
    import pandas as pd

    from riskcohort import features
    from riskcohort.contract import load_dataset
    from riskcohort.modelling.config import DEFAULT_BANDS
    from riskcohort.modelling.iteration import SCORE_COLUMNS, score_frame
    from riskcohort.modelling.model import CohortModel

    out = Path(out_dir)
    c = store.client(tracking_uri, work)
    reg = registry.load_registered(model_ref, tracking_uri=c.tracking_uri, dst=out)
    src = source_manifest(c, reg.run_id)
    cfg = {key: src.get(key, default) for key, default in SETTINGS.items()}
    try:
        as_of_date = pd.Timestamp(as_of).date()
    except (ValueError, TypeError):
        raise UserError(f"option --as-of: rule 'a date YYYY-MM-DD', got {as_of!r}") from None
    dataset = load_dataset(data_dir, report_dir=out / "validation")
    kwargs = {"horizon_days": int(cfg["horizon_days"]), "lookback_days": int(cfg["lookback_days"]),
              "domestic_only": bool(cfg["domestic_only"])}
    if cfg["serious_offences"]:
        kwargs["serious_offences"] = tuple(cfg["serious_offences"])
    feats = features.build(dataset, [as_of_date], labels=False, **kwargs)
    if len(feats) == 0:
        raise UserError(f"data {data_dir}: as-of {as_of_date}: rule 'someone to score', nobody "
                        "had a domestic incident known in the lookback window")
    model = CohortModel.load(reg.model_dir)
    missing = [f for f in model.feature_names if f not in feats.columns]
    k = int(k or cfg["k"])
    bands = cfg["bands"] or DEFAULT_BANDS
    scores = score_frame(model, feats, k, bands)
    cols = ["person_id", "as_of", *[f for f in model.feature_names if f in feats.columns]]
    write_frame(out / "features.parquet",
                feats[cols].assign(person_id=lambda f: f["person_id"].astype(str)))
    write_frame(out / "scores.csv", scores[SCORE_COLUMNS])
    manifest = {
        **{key: src[key] for key in ("experiment", "hyperparameters", "calibration",
                                     "serious_offences") if key in src},
        "as_of": str(as_of_date), "data_dir": str(Path(data_dir).resolve()),
        "fingerprint": getattr(dataset, "fingerprint", None), **kwargs, "k": k, "bands": bands,
        "features": list(model.feature_names), "missing_features": missing,
        "absent_sources": list(getattr(dataset, "absent", []) or []),
        "training_snapshots": src.get("training_snapshots", []), "backtest": False,
        "scored_with": {"model": reg.name, "version": reg.version, "aliases": reg.aliases,
                        "run_id": reg.run_id, "ref": str(model_ref),
                        "tracking_uri": c.tracking_uri},
        "versions": params.package_versions(), "code_version": params.code_version({}),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mlflow_run_id": None,
    }
    write_json(out / "run.json", manifest)
    return out
