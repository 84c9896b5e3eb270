"""Log one cohort iteration (a run folder) to MLflow: a model run plus one run per baseline.

Why baselines as their own runs: a force compares the model against DASH, RFG-V, a harm sum,
the incumbent and the oracle; with identical metric names in one experiment MLflow's compare
view lines them up without any custom tooling. Why the ``riskcohort.complete`` tag: it is set
only after every artifact is logged, and registration (``registry.register_model``) refuses runs
without it, so an interrupted log never reaches the registry. Re-logging the same folder finds
the complete run by its iteration key and reuses it instead of duplicating it.

What is logged: only files the run folder's manifest lists (``files`` and verified
``attachments``), read through :mod:`riskcohort.runfolder` after verification, so a temporary or
stray file never reaches MLflow.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from riskcohort import interrupts, runfolder
from riskcohort.runfolder import layout as L
from riskcohort.tracking import metricnames, naming, params, registry, store

#: Top-level entries of a run folder logged as artifacts when the manifest lists them (same
#: relative paths); the model files go with the registered model.
ARTIFACTS = (L.MANIFEST, L.METRICS, L.SCORES, L.EXPLANATIONS, L.EXPLANATION_SUMMARY, L.PLOTS_DIR,
             L.VALIDATION_DIR, L.REPORT_HTML, L.REPORT_PDF, L.PROMOTION_MD, L.PROMOTION_JSON)
#: The run's other published files (features.parquet, evaluation.parquet: person-level inputs
#: and outcomes) are logged under this fixed path with their relative paths, so the registry
#: alone can rebuild a verified copy of the folder it serves when the folder has vanished
#: (``riskcohort.workflow.champion``, issue 15.2). The store is then as sensitive as the run
#: folders (it already held scores and explanations): protect it the same way.
RUN_FOLDER_PATH = "run_folder"
KEY_TAG = "riskcohort.iteration_key"


def iteration_key(run: runfolder.RunFolder) -> str:
    """Hash of the published files' digests and the scoring date: same folder, same key
    (tracking and attachments, which change after publication, are not part of it)."""
    content = {"as_of": run.manifest.as_of, "files": run.manifest.files}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _find_complete(c, exp_id: str, key: str) -> str | None:
    runs = c.search_runs(
        [exp_id], filter_string=f"tags.`{KEY_TAG}` = '{key}' and tags.kind = 'model' and "
        f"tags.`{registry.COMPLETE_TAG}` = 'true' and attributes.status = 'FINISHED'",
        max_results=1)
    return runs[0].info.run_id if runs else None


def _catalogue_snapshot() -> Path | None:
    """The indicator catalogue of the code that logs the run (the packaged one)."""
    import riskcohort

    packaged = Path(riskcohort.__file__).parent / "features" / "indicators.yaml"
    return packaged if packaged.exists() else None


def _log_model(run: runfolder.RunFolder):
    """The calibrated pyfunc (:mod:`riskcohort.tracking.pyfunc_model`): what it serves is what
    scores.csv shows; the model/ files (booster for SHAP included) are its artifacts."""
    from riskcohort.tracking import pyfunc_model

    return pyfunc_model.log_model(run.path(L.MODEL_DIR), column=run.feature_column)


def logged_files(run: runfolder.RunFolder) -> list[str]:
    """Relative paths logged as artifacts: listed in the manifest (or verified attachments)
    under :data:`ARTIFACTS`, plus the manifest itself."""
    listed = [*run.manifest.files, *run.attachments]
    keep = [rel for rel in listed if rel.split("/")[0] in ARTIFACTS]
    return sorted({L.MANIFEST, *keep})


def folder_only_files(run: runfolder.RunFolder) -> list[str]:
    """Published files neither in :func:`logged_files` nor the model's: logged under
    :data:`RUN_FOLDER_PATH`."""
    logged = set(logged_files(run))
    return sorted(rel for rel in run.manifest.files
                  if rel not in logged and not rel.startswith(L.MODEL_DIR + "/"))


def _log_artifacts(run: runfolder.RunFolder) -> None:
    import mlflow

    for rel in logged_files(run):
        parent = str(Path(rel).parent)
        mlflow.log_artifact(str(run.root / rel), artifact_path=None if parent == "." else parent)
    for rel in folder_only_files(run):
        mlflow.log_artifact(str(run.root / rel),
                            artifact_path=str(Path(RUN_FOLDER_PATH, rel).parent))
    for rel in sorted(run.manifest.files):
        if rel.startswith(L.MODEL_DIR + "/"):
            mlflow.log_artifact(str(run.root / rel), artifact_path="model_files")
    snapshot = _catalogue_snapshot()
    if snapshot is not None:
        mlflow.log_artifact(str(snapshot), artifact_path="catalogue")


def _log_baselines(c, exp_id: str, parent: str, base_tags: dict, per_system: dict,
                   ids: list[str]) -> None:
    """One finished run per baseline; ids appended as created (so a failure can mark them)."""
    from mlflow.entities import Metric, RunTag

    for name, values in per_system.items():
        if name == metricnames.MODEL_SYSTEM:
            continue
        tags = {**base_tags, "kind": "baseline", "baseline": name,
                "riskcohort.model_run_id": parent,
                **naming.baseline_tags(name, parent, base_tags.get("as_of", ""))}
        run = c.create_run(exp_id, run_name=tags["mlflow.runName"], tags=tags)
        ids.append(run.info.run_id)
        c.log_batch(run.info.run_id, metrics=[Metric(k, v, 0, 0) for k, v in values.items()],
                    tags=[RunTag(registry.COMPLETE_TAG, "true")])
        c.set_terminated(run.info.run_id, "FINISHED")


def log_iteration(run_dir: str | Path, config: Any = None, tracking_uri: str | None = None,
                  *, work: str | Path | None = None,
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

    run = runfolder.open_run(run_dir)
    uri = store.resolve_tracking_uri(tracking_uri, work)
    c = store.client(uri)
    exp_id = store.get_or_create_experiment(c, run.manifest.experiment or "riskcohort")
    key = iteration_key(run)
    run_id = _find_complete(c, exp_id, key)
    if run_id is None:
        run_id = _log_new(c, exp_id, run, config, key)
    naming.describe_experiment(c, exp_id, run)
    runfolder.record_tracking(run.root, run_id)
    if register:
        registry.register_model(run_id, alias=alias, tracking_uri=uri,
                                first_is_champion=first_is_champion)
    mlflow.set_tracking_uri(uri)
    return run_id


def _log_new(c, exp_id, run: runfolder.RunFolder, config, key) -> str:
    import mlflow

    manifest = run.manifest
    metrics = run.metrics or runfolder.Metrics(backtest=manifest.backtest)
    per_system = metricnames.systems(metrics)
    tags = {"experiment": manifest.experiment, "as_of": manifest.as_of, KEY_TAG: key,
            "backtest": str(manifest.backtest), "riskcohort.run_dir": str(run.root.resolve()),
            **store.owner_tags()}  # so a run left RUNNING by a killed process can be reaped
    commit = params.git_commit()
    name = naming.iteration_name(run)
    baseline_ids: list[str] = []
    try:
        with mlflow.start_run(experiment_id=exp_id, run_name=name, tags=tags) as active:
            run_id = active.info.run_id
            mlflow.set_tags({**tags, "kind": "model", **naming.model_tags(run),
                             **metricnames.targets(metrics),
                             **({"mlflow.source.git.commit": commit} if commit else {})})
            mlflow.log_params(params.iteration_params(manifest.to_dict(), config))
            mlflow.log_metrics({**per_system.get(metricnames.MODEL_SYSTEM, {}),
                                **metricnames.model_extras(metrics)})
            _log_artifacts(run)
            interrupts.checkpoint("mlflow")  # fault-injection hook: a run left RUNNING
            info = _log_model(run)
            _log_baselines(c, exp_id, run_id, tags, per_system, baseline_ids)
            mlflow.set_tags({registry.MODEL_URI_TAG: info.model_uri,
                             registry.COMPLETE_TAG: "true"})
    except BaseException:
        for bid in baseline_ids:  # baselines of an incomplete iteration must not be compared
            c.set_terminated(bid, "FAILED")
        raise
    return run_id
