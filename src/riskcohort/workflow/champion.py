"""The folder a registered model is served from: its own run folder, else a copy rebuilt from
the registry alone.

Why: the registry pointed at a run folder by path (the ``riskcohort.run_dir`` tag), and a folder
can vanish (deleted, moved, a disk swapped) while the registry still calls it the champion; then
``serve --model champion`` had nothing to serve (issue 15.2). Everything serving needs is in
MLflow: the pyfunc carries the saved model folder, the model run's artifacts carry run.json,
scores, explanations, metrics, plots and validation at their own paths and the rest of the
published files (features, evaluation) under ``run_folder/``
(:data:`riskcohort.tracking.iteration.RUN_FOLDER_PATH`). This module downloads them into a cache
under the work folder, checks the copy with the run-folder reader (schema, ``complete``, every
sha256 in the logged run.json) and publishes it with one rename, so a half-downloaded copy is
never served and a copy that does not verify is refused with one message.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.tracking import registry, store
from riskcohort.tracking.iteration import RUN_FOLDER_PATH

logger = logging.getLogger(__name__)

#: Cache of rebuilt run folders, relative to the work folder (one folder per model version).
CACHE_DIR = Path("cache") / "registry"
#: Derived files re-attached to the copy when the model run logged them (promotion, pack).
ATTACHMENTS = (L.PROMOTION_MD, L.PROMOTION_JSON, L.REPORT_HTML, L.REPORT_PDF)


def is_folder_of(path: str | os.PathLike | None, run_id: str) -> bool:
    """Whether ``path`` is a complete, verified run folder logged as MLflow run ``run_id``."""
    if not path or not runfolder.is_run_folder(path):
        return False
    try:
        manifest = runfolder.verify_run(path)
    except UserError as exc:
        logger.warning("%s", exc)
        return False
    return manifest.mlflow_run_id == run_id


def cache_dir(version, work=None) -> Path:
    """Where the copy of a registered version is kept: ``<work>/cache/registry/<name>-v<N>``."""
    return store.work_dir(work) / CACHE_DIR / f"{registry.MODEL_NAME}-v{int(version.version)}"


def served_run_dir(version, tracking_uri: str, work=None, candidates=()) -> Path:
    """The run folder to serve for a registered ``version`` (an MLflow ``ModelVersion``).

    The first of ``candidates`` (local folders, e.g. the run's ``riskcohort.run_dir`` tag, or
    callables returning one, tried only when needed) that is a verified folder of the version's
    run; else the cached copy from the registry, rebuilt (:func:`materialise`) when absent or no
    longer valid.
    """
    for path in candidates:
        path = path() if callable(path) else path
        if is_folder_of(path, version.run_id):
            return Path(path)
    dst = cache_dir(version, work)
    if is_folder_of(dst, version.run_id):
        logger.info("run folder of version %s not found; serving the registry's copy %s",
                    version.version, dst)
        return dst
    return materialise(version, tracking_uri, dst)


def _download_run(run_id: str, tracking_uri: str, dst: Path) -> Path:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="",
                                                    dst_path=str(dst), tracking_uri=tracking_uri))


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def _assemble(version, tracking_uri: str, staging: Path) -> None:
    """Lay the registry's files out in ``staging`` as the run folder they came from."""
    with tempfile.TemporaryDirectory(prefix=".download-", dir=staging.parent) as tmp:
        arts = _download_run(version.run_id, tracking_uri, Path(tmp))
        if not (arts / L.MANIFEST).is_file():
            raise UserError(f"registered model version {version.version}: its MLflow run "
                            f"{version.run_id} has no {L.MANIFEST} artifact; it was not logged by "
                            "`riskcohort run`/`retrain`, so its run folder cannot be rebuilt; "
                            "serve a run folder with --run OUT_DIR")
        _copy(arts / L.MANIFEST, staging / L.MANIFEST)
        manifest = runfolder.read_manifest(staging)
        missing = []
        for rel in manifest.files:
            if rel.startswith(L.MODEL_DIR + "/"):
                continue  # from the registered pyfunc below
            src = next((p for p in (arts / rel, arts / RUN_FOLDER_PATH / rel) if p.is_file()),
                       None)
            if src is None:
                missing.append(rel)
            else:
                _copy(src, staging / rel)
        if missing:
            raise UserError(f"registered model version {version.version}: MLflow run "
                            f"{version.run_id} lacks {', '.join(missing[:3])} (logged before "
                            f"the registry kept the whole run folder under {RUN_FOLDER_PATH}/), "
                            "so it cannot be served from the registry alone; re-log its run "
                            "folder or serve one with --run OUT_DIR")
        registry.load_registered(version.version, tracking_uri=tracking_uri, dst=staging)
        runfolder.verify_run(staging)  # the same check as every reader: nothing half-rebuilt
        runfolder.record_tracking(staging, version.run_id)
        for name in ATTACHMENTS:
            if (arts / name).is_file() and name not in manifest.files:
                runfolder.attach(staging, name, _copier(arts / name))


def _copier(src: Path) -> Callable[[Path], object]:
    """A writer for ``runfolder.attach`` that copies ``src`` (bound now, not when called)."""

    def write(tmp: Path) -> object:
        return shutil.copy2(src, tmp)

    return write


def materialise(version, tracking_uri: str, dst: Path) -> Path:
    """Rebuild version's run folder at ``dst`` from MLflow alone, verified, published whole."""
    logger.info("run folder of model version %s not found; rebuilding it from the registry "
                "into %s", version.version, dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}{L.STAGING_PREFIX}", dir=dst.parent))
    except OSError as exc:
        raise UserError(f"cache folder {dst.parent}: cannot write ({exc.strerror}); the "
                        "registry's copy of the served model is kept there: pass a writable "
                        "--work") from None
    try:
        _assemble(version, tracking_uri, staging)
        if dst.exists():  # a stale or invalid copy (a valid one was returned by the caller)
            shutil.rmtree(dst)
        try:
            os.rename(staging, dst)
        except OSError:
            if not is_folder_of(dst, version.run_id):  # not a concurrent twin: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dst
