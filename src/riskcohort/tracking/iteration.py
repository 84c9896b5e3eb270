"""Log one cohort iteration (a run folder) to MLflow: a model run plus one run per baseline.

Why baselines as their own runs: a force compares the model against DASH, RFG-V, a harm sum,
the incumbent and the oracle; with identical metric names in one experiment MLflow's compare
view lines them up without any custom tooling. Why the ``riskcohort.complete`` tag: it is set
only after every artifact is logged, and registration (``registry.register_model``) refuses runs
without it, so an interrupted log never reaches the registry. Re-logging the same folder finds
the complete run by its iteration key and reuses it instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from riskcohort.errors import UserError
from riskcohort.tracking import params, registry, runfolder, store

#: Files and folders of a run folder logged as artifacts, when present (same relative paths).
ARTIFACT_FILES = ("run.json", "metrics.json", "scores.csv", "explanations.parquet",
                  "explanations.json", "report.html", "indicators.yaml", "catalogue.yaml")
ARTIFACT_DIRS = ("plots", "validation", "catalogue")
KEY_TAG = "riskcohort.iteration_key"


def iteration_key(run_dir: Path) -> str:
    """Content hash of run.json (without the MLflow id) and metrics.json: same folder, same key."""
    manifest = runfolder.read_manifest(run_dir)
    manifest.pop("mlflow_run_id", None)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode())
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        digest.update(metrics.read_bytes())
    return digest.hexdigest()[:32]


def _find_complete(c, exp_id: str, key: str) -> str | None:
    runs = c.search_runs(
        [exp_id], filter_string=f"tags.`{KEY_TAG}` = '{key}' and tags.kind = 'model' and "
        f"tags.`{registry.COMPLETE_TAG}` = 'true' and attributes.status = 'FINISHED'",
        max_results=1)
    return runs[0].info.run_id if runs else None


def _catalogue_snapshot(run_dir: Path) -> Path | None:
    """The indicator catalogue the run used: its own copy, else the packaged one."""
    for name in ("indicators.yaml", "catalogue.yaml", "catalogue"):
        if (run_dir / name).exists():
            return None  # logged with the run folder's files
    import riskcohort

    packaged = Path(riskcohort.__file__).parent / "features" / "indicators.yaml"
    return packaged if packaged.exists() else None


def _log_model(run_dir: Path, manifest: dict):
    """Booster in MLflow's LightGBM flavour (signature, example) carrying the model/ files."""
    import lightgbm as lgb
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    model_dir = run_dir / "model"
    if not (model_dir / "model.txt").exists():
        raise UserError(f"folder {model_dir}: model.txt missing (run `riskcohort run` first)")
    booster = lgb.Booster(model_file=str(model_dir / "model.txt"))
    names_file = model_dir / "feature_names.json"
    names = (json.loads(names_file.read_text()) if names_file.exists()
             else manifest.get("features") or booster.feature_name())
    # A synthetic example (column medians), so no real person's row is copied into the registry.
    feats = run_dir / "features.parquet"
    frame = pd.read_parquet(feats) if feats.exists() else pd.DataFrame(columns=names)
    example = frame.reindex(columns=names).astype("float64").median().fillna(0.0).to_frame().T
    signature = infer_signature(example, booster.predict(example))
    return mlflow.lightgbm.log_model(
        booster, name="model", signature=signature, input_example=example,
        extra_files=[str(p) for p in sorted(model_dir.iterdir()) if p.is_file()],
        pip_requirements=[f"lightgbm=={lgb.__version__}"])


def _log_artifacts(run_dir: Path) -> None:
    import mlflow

    for name in ARTIFACT_FILES:
        if (run_dir / name).is_file():
            mlflow.log_artifact(str(run_dir / name))
    for name in ARTIFACT_DIRS:
        if (run_dir / name).is_dir():
            mlflow.log_artifacts(str(run_dir / name), artifact_path=name)
    if (run_dir / "model").is_dir():
        mlflow.log_artifacts(str(run_dir / "model"), artifact_path="model_files")
    snapshot = _catalogue_snapshot(run_dir)
    if snapshot is not None:
        mlflow.log_artifact(str(snapshot), artifact_path="catalogue")


def _log_baselines(c, exp_id: str, parent: str, base_tags: dict, per_system: dict,
                   ids: list[str]) -> None:
    """One finished run per baseline; ids appended as created (so a failure can mark them)."""
    from mlflow.entities import Metric, RunTag

    for name, values in per_system.items():
        if name == runfolder.MODEL_SYSTEM:
            continue
        tags = {**base_tags, "kind": "baseline", "baseline": name,
                "riskcohort.model_run_id": parent, "mlflow.runName": f"baseline:{name}"}
        run = c.create_run(exp_id, run_name=f"baseline:{name}", tags=tags)
        ids.append(run.info.run_id)
        c.log_batch(run.info.run_id, metrics=[Metric(k, v, 0, 0) for k, v in values.items()],
                    tags=[RunTag(registry.COMPLETE_TAG, "true")])
        c.set_terminated(run.info.run_id, "FINISHED")


def log_iteration(run_dir, config=None, tracking_uri: str | None = None, *, work=None,
                  register: bool = True, alias: str | None = registry.CHALLENGER,
                  first_is_champion: bool = True) -> str:
    """Log a run folder as one model run plus baseline runs; register it; return the run id.

    Store: ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else ``<work>/mlflow.db`` with
    ``work`` defaulting to ``$RISKCOHORT_WORK`` or ``./work`` (the same default as every
    tracking command). The run id is written back to run.json (``mlflow_run_id``) atomically.
    With ``register``, the version gets ``alias``; with ``first_is_champion`` it also becomes
    champion when the registry has none yet.
    """
    import mlflow

    run_dir = Path(run_dir)
    manifest = runfolder.read_manifest(run_dir)
    metrics_file = run_dir / "metrics.json"
    metrics = runfolder.read_json(metrics_file) if metrics_file.exists() else {}
    uri = store.resolve_tracking_uri(tracking_uri, work)
    c = store.client(uri)
    exp_name = str(manifest.get("experiment") or "riskcohort")
    exp_id = store.get_or_create_experiment(c, exp_name)
    key = iteration_key(run_dir)
    run_id = _find_complete(c, exp_id, key)
    if run_id is None:
        run_id = _log_new(c, exp_id, run_dir, manifest, metrics, config, key)
    runfolder.write_run_id(run_dir, run_id)
    if register:
        registry.register_model(run_id, alias=alias, tracking_uri=uri,
                                first_is_champion=first_is_champion)
    mlflow.set_tracking_uri(uri)
    return run_id


def _log_new(c, exp_id, run_dir, manifest, metrics, config, key) -> str:
    import mlflow

    per_system = runfolder.systems(metrics)
    tags = {"experiment": str(manifest.get("experiment", "")),
            "as_of": str(manifest.get("as_of", "")), KEY_TAG: key,
            "backtest": str(manifest.get("backtest", "")),
            "riskcohort.run_dir": str(run_dir.resolve())}
    commit = params.git_commit()
    name = f"{tags['experiment'] or 'iteration'}@{tags['as_of'] or 'unknown'}"
    baseline_ids: list[str] = []
    try:
        with mlflow.start_run(experiment_id=exp_id, run_name=name) as run:
            run_id = run.info.run_id
            mlflow.set_tags({**tags, "kind": "model", **runfolder.targets(metrics),
                             **({"mlflow.source.git.commit": commit} if commit else {})})
            mlflow.log_params(params.iteration_params(manifest, config))
            mlflow.log_metrics({**per_system.get(runfolder.MODEL_SYSTEM, {}),
                                **runfolder.model_extras(metrics)})
            _log_artifacts(run_dir)
            info = _log_model(run_dir, manifest)
            _log_baselines(c, exp_id, run_id, tags, per_system, baseline_ids)
            mlflow.set_tags({registry.MODEL_URI_TAG: info.model_uri,
                             registry.COMPLETE_TAG: "true"})
    except BaseException:
        for bid in baseline_ids:  # baselines of an incomplete iteration must not be compared
            c.set_terminated(bid, "FAILED")
        raise
    return run_id
