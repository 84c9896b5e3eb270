"""Explain a whole run: every scored person's contributions, the run summary and global plots.

Why long format (person_id, as_of, indicator, value, contribution): it is what the app, the
governance report and an auditor's SQL all want (filter by person or by indicator) and it keeps
the indicator value next to its contribution, so a reason can always be traced to the number the
model saw. The check that base + contributions equals the model's raw margin runs every time; a
failure stops the run, because an explanation that does not add up must never be shown.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort import interrupts, runfolder
from riskcohort.explain.labels import indicator_labels, readable_name
from riskcohort.explain.reasons import APPROX_NOTE
from riskcohort.explain.scored import ScoredRun, load_scored
from riskcohort.explain.shap_adapter import METHOD, contributions, raw_margin
from riskcohort.runfolder import layout as L

ADDITIVITY_TOL = 1e-6
#: People explained (and written) per chunk: 50,000 x 114 indicators ~ 5.7 M long rows, ~0.7 GB
#: in flight with the Arrow copy (200,000 a chunk took a national run 6 GB above what it held).
CHUNK_PEOPLE = 50_000
logger = logging.getLogger(__name__)


def long_frame(run: ScoredRun, values: np.ndarray) -> pd.DataFrame:
    """Contributions in long format, one row per (person, snapshot, indicator)."""
    n, p = values.shape
    names = run.feature_names
    X = run.matrix().to_numpy()
    return pd.DataFrame(
        {
            "person_id": np.repeat(run.features["person_id"].to_numpy(), p),
            "as_of": np.repeat(run.features["as_of"].to_numpy(), p),
            "indicator": pd.Categorical(np.tile(names, n), categories=names),
            "value": X.reshape(-1),
            "contribution": values.reshape(-1),
        }
    )


def _notes(run: ScoredRun, dataset, score_gap: float) -> list[str]:
    notes = [
        APPROX_NOTE,
        f"Margin to probability: {run.calibration.note}.",
        "expected_probability is the mean calibrated score of everyone scored; base_probability "
        "is the calibrated probability at base_value; they differ because the link is non-linear.",
    ]
    if run.calibration.kind == "sigmoid":
        notes.append("No calibrator was used: probabilities are the raw sigmoid of the margin.")
    if np.isfinite(score_gap) and score_gap > 1e-6:
        notes.append(f"Recomputed scores differ from scores.csv by up to {score_gap:.2g}.")
    absent = list(getattr(dataset, "absent", None) or run.manifest.absent_sources or [])
    if absent:
        notes.append(f"Absent sources (indicators unknown, not zero): {', '.join(absent)}.")
    return notes


def explain_scored(run: ScoredRun, dataset=None, *, plots_dir: Path | None = None,
                   seed: int = 0) -> tuple[pd.DataFrame, runfolder.ExplanationSummary]:
    """Contributions of everyone scored (long format) and the run's summary, in memory.

    Global plots are drawn into ``plots_dir`` when given (a folder of the staged run).
    ``dataset`` (optional, a loaded ``Dataset``) only adds notes about absent sources;
    record-level evidence is per person (:func:`riskcohort.explain.person.explain_person`).
    """
    chunked = len(run.features) > CHUNK_PEOPLE
    X = None if chunked else run.matrix()  # a national population: a chunk at a time only
    interrupts.checkpoint("explain")  # fault-injection hook (tests/faults)
    base, values, margin = _contributions_in_chunks(run)
    error = float(np.max(np.abs(base + values.sum(axis=1) - margin), initial=0.0))
    if error > ADDITIVITY_TOL:
        raise RuntimeError(f"SHAP additivity check failed: max |base + sum - margin| = {error:.3g}")
    prob = run.calibration.probability(margin)
    stored = run.scores["score"].to_numpy(dtype=float)
    gaps = np.abs(prob - stored)
    score_gap = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else float("nan")
    labels = indicator_labels(run.feature_names)
    mean_abs = (np.abs(values).mean(axis=0) if not chunked else _mean_abs(values)) \
        if len(values) else np.zeros(len(run.feature_names))
    written = []
    if plots_dir is not None and len(values):
        from riskcohort.explain.plots import _sample, plot_all

        descriptions = [readable_name(labels[n]) for n in run.feature_names]
        if X is not None:  # not chunked: the whole input matrix is in memory
            written = plot_all(X.to_numpy(), values, run.feature_names, descriptions,
                               Path(plots_dir), seed=seed)
        else:  # the same plotted rows, without a full copy of the inputs
            rows = _sample(len(values), seed)
            written = plot_all(run.matrix(run.features.iloc[rows]).to_numpy(), values[rows],
                               run.feature_names, descriptions, Path(plots_dir), seed=seed,
                               mean_abs=mean_abs, n_people=len(values))
    summary = runfolder.ExplanationSummary(
        base_value=base,
        link="logit",
        method=METHOD,
        expected_probability=float(np.nanmean(stored)) if len(stored) else None,
        base_probability=float(run.calibration.probability(base)),
        calibration={"kind": run.calibration.kind, "note": run.calibration.note},
        n_people=int(len(values)),
        snapshots=sorted({str(d.date()) for d in run.features["as_of"]}),
        indicators=run.feature_names,
        mean_abs_contribution=dict(zip(run.feature_names, map(float, mean_abs), strict=True)),
        additivity_max_error=error,
        score_max_abs_diff=score_gap if np.isfinite(score_gap) else None,
        plots=[f"{L.PLOTS_DIR}/{p.name}" for p in written],
        versions={pkg: md.version(pkg) for pkg in ("shap", "lightgbm")},
        notes=_notes(run, dataset, score_gap),
    )
    logger.debug("explained %d scores, additivity error %.2e", len(values), error)
    if not chunked:
        return long_frame(run, values), summary
    return _long_frames(run, values), summary


def _contributions_in_chunks(run: ScoredRun) -> tuple[float, np.ndarray, np.ndarray]:
    """Contributions and raw margins of every row, :data:`CHUNK_PEOPLE` rows at a time.

    Why chunks: a national population (2.3 M people x 117 indicators) is 2 GB per float64
    copy, and the exact de-duplication inside :func:`contributions` sorts a code matrix of the
    same size several times over. Each row's Tree SHAP values and margin depend on that row
    alone, so the chunked result equals the whole-population one."""
    n = len(run.features)
    if n <= CHUNK_PEOPLE:
        X = run.matrix()
        base, values = contributions(run.booster, X)
        return base, values, raw_margin(run.booster, X)
    values = np.empty((n, len(run.feature_names)), dtype=np.float64)
    margin = np.empty(n, dtype=np.float64)
    base = 0.0
    for start in range(0, n, CHUNK_PEOPLE):
        part = run.matrix(run.features.iloc[start:start + CHUNK_PEOPLE])
        base, values[start:start + len(part)] = contributions(run.booster, part)
        margin[start:start + len(part)] = raw_margin(run.booster, part)
    return base, values, margin


def _mean_abs(values: np.ndarray) -> np.ndarray:
    """Mean |contribution| per indicator, summed a chunk at a time (no full-size temporary)."""
    total = np.zeros(values.shape[1])
    for start in range(0, len(values), CHUNK_PEOPLE):
        total += np.abs(values[start:start + CHUNK_PEOPLE]).sum(axis=0)
    return total / len(values)


def _long_frames(run: ScoredRun, values: np.ndarray):
    """:func:`long_frame` a chunk of people at a time (written as Parquet row groups)."""
    for start in range(0, len(values), CHUNK_PEOPLE):
        part = dataclasses.replace(
            run, features=run.features.iloc[start:start + CHUNK_PEOPLE].reset_index(drop=True))
        yield long_frame(part, values[start:start + CHUNK_PEOPLE])


def explain_run(run_dir: str | Path, dataset: Any = None, *, plots: bool = True,
                seed: int = 0) -> dict:
    """Re-explain a published run folder: ``explanations.parquet``, ``explanations.json`` and
    ``plots/`` are replaced and the folder is published again whole (``riskcohort explain-run``).

    Returns the summary written to ``explanations.json``.
    """
    run = load_scored(run_dir)
    with runfolder.RunWriter.amend(run.root) as writer:
        writer.replace_file(L.PLOTS_DIR)
        frame, summary = explain_scored(run, dataset, seed=seed,
                                        plots_dir=writer.path(L.PLOTS_DIR) if plots else None)
        writer.write_explanations(frame, summary)
        writer.publish()
    return summary.to_dict()
