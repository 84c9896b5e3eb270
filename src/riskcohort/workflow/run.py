"""The ``run`` job: validate, train, score, evaluate, explain; publish the folder; track it.

Order matters for "all or nothing": the run folder is staged from the first byte (the
validation report goes there too), explained, and published with one rename only at the end;
MLflow sees it only after that, and logs only the files its manifest lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskcohort import memory, runfolder
from riskcohort.runfolder import layout as L

if TYPE_CHECKING:
    from riskcohort.contract.loader import Dataset
    from riskcohort.modelling.config import ExperimentConfig
    from riskcohort.modelling.iteration import IterationResult

logger = logging.getLogger(__name__)


def load_config(config, data_dir=None, out_dir=None):
    """An ``ExperimentConfig`` from a config or a TOML path, with ``data_dir``/``out_dir``
    overrides applied as a new object (the loaded config is never mutated)."""
    from riskcohort.modelling.config import load_experiment

    cfg = config if hasattr(config, "horizon_days") else load_experiment(config, data=data_dir)
    changes = {}
    if data_dir is not None:
        changes["data_dir"] = Path(data_dir).resolve()
    if out_dir is not None:
        changes["out_dir"] = Path(out_dir)
    return dataclasses.replace(cfg, **changes) if changes else cfg


def default_out(cfg, as_of=None) -> Path:
    """``--out`` when neither the command nor the experiment names one."""
    when = as_of or cfg.as_of
    return Path(cfg.out_dir or Path("runs") / (f"{cfg.name}-{when}" if when else cfg.name))


def _relative(value, start: Path):
    if isinstance(value, str | os.PathLike) and os.path.isabs(value):
        return os.path.relpath(value, start)
    return value


def manifest_record(fields: dict, out: Path, **extra) -> runfolder.Manifest:
    """run.json for a folder published at ``out``: paths made relative to it (a run folder
    moves between machines with its data beside it; absolute paths are never published)."""
    out = Path(out).absolute()
    data = {"schema_version": L.SCHEMA_VERSION, **fields, **extra}
    for key in ("data_dir", "experiment_file"):
        data[key] = _relative(data.get(key), out)
    if isinstance(data.get("config"), dict):
        data["config"] = {k: _relative(v, out) for k, v in data["config"].items()}
    return runfolder.Manifest.from_dict(data, f"{out / L.MANIFEST} (being written)")


def check_quarantine(dataset: Dataset, cfg: ExperimentConfig | None = None,
                     max_quarantine: float | None = None,
                     writer: runfolder.RunWriter | None = None) -> dict:
    """Log per-table accepted/quarantined counts; stop (exit 2) above the bound, before any
    training (``contract.gate``). Returns the counts.

    Nothing is published when it stops; the validation report and quarantine files of the
    staged run are kept beside ``--out`` as ``<name>.validation/`` so the rows can be inspected.
    """
    from riskcohort.contract import gate
    from riskcohort.errors import UserError

    try:
        counts = gate.enforce(dataset.report, gate.configured_bound(cfg, max_quarantine))
    except UserError as exc:
        staged = writer.staging / L.VALIDATION_DIR if writer is not None else None
        if writer is None or staged is None or not staged.is_dir():
            raise
        kept = writer.target.parent / f"{writer.target.name}.validation"
        if kept.exists():
            shutil.rmtree(kept)
        shutil.copytree(staged, kept)
        raise UserError(str(exc).replace(str(staged), str(kept)),
                        exit_code=exc.exit_code) from None
    logger.info(gate.summary_line(counts))
    return counts


def portable_validation(writer: runfolder.RunWriter) -> None:
    """Rewrite the staged ``validation/validation.json`` with paths that survive publication:
    quarantine files by name (they sit beside it), the data folder relative to the published
    run, no staging path. A run folder carries no absolute machine path."""
    from riskcohort.contract.report import ValidationReport

    staged = writer.staging / L.VALIDATION_DIR
    if not (staged / Path(L.VALIDATION_REPORT).name).is_file():
        return
    report = ValidationReport.read(staged)
    final = writer.target / L.VALIDATION_DIR
    for table in report.tables.values():
        if table.quarantine_file:
            table.quarantine_file = Path(table.quarantine_file).name
    report.data_dir = _relative(report.data_dir, final)
    report.report_dir = "."
    if report.data_docs:
        report.data_docs = os.path.relpath(report.data_docs, staged)
    report.write(staged)


def write_iteration(writer: runfolder.RunWriter, result) -> None:
    """The files of an :class:`~riskcohort.modelling.iteration.IterationResult`."""
    writer.write_frame(L.FEATURES, result.features)
    writer.write_frame(L.SCORES, result.scores)
    if result.evaluation is not None:
        writer.write_frame(L.EVALUATION, result.evaluation)
    writer.write_metrics(runfolder.Metrics.from_dict(result.metrics, L.METRICS))
    result.model.save(writer.path(L.MODEL_DIR))


def explain_into(writer: runfolder.RunWriter, manifest: runfolder.Manifest, features, scores,
                 dataset=None) -> None:
    """SHAP contributions of everyone scored, the summary and the global plots, staged."""
    from riskcohort.explain.run import explain_scored
    from riskcohort.explain.scored import scored_run

    logger.info("explaining every score (SHAP) and writing global plots")
    scored = scored_run(writer.target, manifest, writer.path(L.MODEL_DIR), features, scores)
    frame, summary = explain_scored(scored, dataset, plots_dir=writer.path(L.PLOTS_DIR))
    writer.write_explanations(frame, summary)
    logger.info("explanations written; process memory %s", memory.process_memory())


def run_into(writer: runfolder.RunWriter, cfg, dataset, as_of=None, *, explain: bool = True):
    """One iteration staged into ``writer`` (not published); returns the IterationResult and
    the manifest to publish."""
    from riskcohort.modelling.iteration import run_iteration

    result = run_iteration(cfg, dataset, as_of=as_of or cfg.as_of)
    manifest = manifest_record(result.manifest, writer.target)
    write_iteration(writer, result)
    if explain:
        explain_into(writer, manifest, result.features, result.scores, dataset)
    portable_validation(writer)
    return result, manifest


def run_experiment(config: ExperimentConfig | str | Path, data_dir: str | Path | None = None,
                   as_of: str | dt.date | None = None, out_dir: str | Path | None = None,
                   dataset: Dataset | None = None, max_quarantine: float | None = None, *,
                   overwrite: bool = False, guard: Callable[..., Any] | None = None,
                   previous_run: str | None = None) -> IterationResult:
    """Load the dataset named by ``config`` (or ``data_dir``), run one iteration, explain it and
    publish the run folder whole. Returns the IterationResult (``out_dir`` = the folder).

    ``config`` is an :class:`~riskcohort.modelling.config.ExperimentConfig` or a path to its
    TOML. Stops before training when a required table's quarantined share is above
    ``max_quarantine`` (else the experiment's ``[data] max_quarantine``, else 1%). An existing
    ``out_dir`` is refused unless ``overwrite``; ``guard`` may refuse an overwrite.
    """
    from riskcohort.contract import load_dataset

    cfg = load_config(config, data_dir)
    with runfolder.RunWriter(out_dir or default_out(cfg, as_of), overwrite=overwrite,
                             guard=guard) as writer:
        if dataset is None:  # the validation report travels with the run (governance reads it)
            dataset = load_dataset(cfg.data_dir, report_dir=writer.path(L.VALIDATION_DIR))
        check_quarantine(dataset, cfg, max_quarantine, writer)
        result, manifest = run_into(writer, cfg, dataset, as_of)
        if previous_run:  # the previous iteration, for drift in the governance pack
            manifest = manifest.replace(previous_run=previous_run)
        result.out_dir = writer.publish(manifest)
    logger.info("published run folder %s", result.out_dir)
    return result


def previous_iteration(tracking_uri=None, work=None) -> str | None:
    """The MLflow run id of the registry's champion when this run starts (the iteration this
    one is compared with and may replace), or None. A store that does not exist is not
    created to find out."""
    from riskcohort.tracking import registry, store

    uri = store.resolve_tracking_uri(tracking_uri, work)
    db = store.sqlite_path(uri)
    if db is not None and not db.exists():
        return None
    try:
        mv = registry.current_version(store.client(uri), registry.CHAMPION)
    except Exception as exc:  # noqa: BLE001 - drift is context, never a reason to stop a run
        logger.warning("previous iteration not looked up in %s: %s", uri, exc)
        return None
    return None if mv is None else str(mv.run_id)


def run_and_track(config: ExperimentConfig | str | Path, data_dir: str | Path | None = None,
                  as_of: str | dt.date | None = None, out_dir: str | Path | None = None,
                  tracking_uri: str | None = None, work: str | Path | None = None,
                  max_quarantine: float | None = None, *,
                  overwrite: bool = False) -> tuple[IterationResult, str | None]:
    """``riskcohort run``: one iteration (validate, train, score, explain), then its MLflow record.

    The model version is registered as ``challenger``; the very first model registered becomes
    ``champion`` too (there is nothing to compare it with); after that only ``retrain``'s
    evidence rule moves ``champion``. The champion's own run folder is never overwritten.
    """
    from riskcohort.tracking import log_iteration
    from riskcohort.tracking.guard import champion_guard

    cfg = load_config(config, data_dir, out_dir)
    result = run_experiment(cfg, as_of=as_of, max_quarantine=max_quarantine, overwrite=overwrite,
                            guard=champion_guard(tracking_uri, work),
                            previous_run=previous_iteration(tracking_uri, work))
    if result.out_dir is None:  # run_experiment publishes or raises; this narrows the type
        raise RuntimeError("the run folder was not published")
    # published: MLflow reads the folder, and the caller's summary needs scores and metrics
    # only; a national scored snapshot is GBs (issue 22), so it stays in features.parquet
    result.features = result.features.iloc[:0]
    memory.release()  # the loaded dataset went with run_experiment: give its pages back
    logger.info("logging the iteration and its baselines to MLflow; process memory %s",
                memory.process_memory())
    run_id = log_iteration(result.out_dir, cfg, tracking_uri, work=work)
    return result, run_id
