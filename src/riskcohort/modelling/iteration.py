"""``run_iteration``: train as of a date, score the population at that date, write the run folder.

Why one function: the run folder (``docs/architecture.md``) is the contract with explain,
tracking, governance and the app, so one place writes all of it, in one order:
training snapshots (leakage-guarded) -> features with labels known by as-of -> rolling-origin
search and calibration -> score the as-of population -> baselines -> metrics when the outcome
window after as-of is in the data (a backtest) -> files.

Nothing after ``as_of`` is used for training: snapshots satisfy ``T + horizon <= as_of`` and their
labels only count incidents recorded before ``as_of`` (``labels_known_by``). Later records are read
only to *evaluate* a backtest, never to fit or calibrate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.errors import UserError
from riskcohort.io import write_frame, write_json
from riskcohort.modelling import baselines as bl
from riskcohort.modelling import training
from riskcohort.modelling.manifest import manifest, monotone_for, summarise
from riskcohort.modelling.metrics import evaluate
from riskcohort.modelling.model import CohortModel

SCORE_COLUMNS = ["person_id", "as_of", "score", "rank", "in_cohort", "band"]


@dataclass
class IterationResult:
    """What a run produced (the files are in ``out_dir``)."""

    out_dir: Path
    as_of: dt.date
    backtest: bool
    model: CohortModel
    scores: pd.DataFrame
    metrics: dict
    manifest: dict
    training: dict = field(default_factory=dict)


def data_range(tables: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First occurrence and last record date of the incidents (what the data can tell)."""
    inc = tables["incidents"]
    if len(inc) == 0:
        raise UserError("modelling: table incidents: rule 'at least one incident', it is empty")
    return pd.Timestamp(inc["occurred_at"].min()), pd.Timestamp(inc["recorded_at"].max())


def default_as_of(tables: dict) -> dt.date:
    """No as-of anywhere: the day after the latest record (score "now", no backtest)."""
    return (data_range(tables)[1] + pd.Timedelta(days=1)).date()


def assign_bands(p: np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """Band of each probability: the highest band whose cut-off it reaches, else ``low``.

    >>> assign_bands(np.array([0.2, 0.05, 0.015, 0.001]),
    ...              {"high": 0.1, "elevated": 0.03, "moderate": 0.01}).tolist()
    ['high', 'elevated', 'moderate', 'low']
    """
    out = np.full(len(p), "low", dtype=object)
    for name, cut in sorted(bands.items(), key=lambda kv: kv[1]):
        out[p >= cut] = name
    return out


def score_frame(model: CohortModel, feats: pd.DataFrame, k: int, bands) -> pd.DataFrame:
    """scores.csv: rank by the raw margin (same order as the calibrated probability, but no
    calibrator ties), then person_id for exact ties, so the cohort never depends on row order."""
    margin = model.raw_margin(feats)
    p = model.predict_risk(feats)
    order = np.lexsort((feats["person_id"].astype(str).to_numpy(), -margin))
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(1, len(p) + 1)
    return pd.DataFrame({
        "person_id": feats["person_id"].astype(str).to_numpy(),
        "as_of": pd.to_datetime(feats["as_of"]).dt.date.astype(str).to_numpy(),
        "score": p, "rank": rank, "in_cohort": rank <= k, "band": assign_bands(p, bands),
        "_margin": margin,
    })


def _build(dataset, cfg, as_of_list, labels, known_by=None):
    from riskcohort import features

    return features.build(
        dataset, as_of_list, labels=labels, horizon_days=cfg.horizon_days,
        serious_offences=cfg.serious_offences, domestic_only=cfg.domestic_only,
        lookback_days=cfg.lookback_days, labels_known_by=known_by,
    )


def training_snapshots(cfg, tables, as_of: dt.date) -> list[dt.date]:
    """Configured or derived monthly snapshots, filtered by the leakage guard."""
    start, _ = data_range(tables)
    snaps = cfg.snapshots or training.derive_snapshots(
        start, as_of, cfg.horizon_days, cfg.snapshot_every_months, cfg.min_history_days,
        cfg.max_snapshots)
    snaps = training.eligible(snaps, as_of, cfg.horizon_days)
    if not snaps:
        raise UserError(
            f"modelling: as-of {as_of}: rule 'training snapshots with T + {cfg.horizon_days} "
            f"days <= as-of': none; the data start at {start.date()} and training needs "
            f"{cfg.min_history_days} days of history plus a {cfg.horizon_days}-day outcome "
            "window before the as-of date; use a later --as-of or a longer dataset"
        )
    return snaps


def run_iteration(cfg, dataset, as_of=None, out_dir=None, log=None) -> IterationResult:
    """Train, score and (when outcomes are known) evaluate at ``as_of``; write the run folder."""
    log = log or (lambda msg: None)
    tables = dataset.tables if hasattr(dataset, "tables") else dataset
    start, end = data_range(tables)
    as_of = pd.Timestamp(as_of or cfg.as_of or default_as_of(tables)).date()
    out_dir = Path(out_dir or cfg.out_dir or Path("runs") / f"{cfg.name}-{as_of}")
    if pd.Timestamp(as_of) <= start:
        raise UserError(f"modelling: as-of {as_of}: rule 'after the first record', the data "
                        f"start at {start.date()}")
    snaps = training_snapshots(cfg, tables, as_of)
    log(f"as-of {as_of}: building features for {len(snaps)} training snapshots")
    train = _build(dataset, cfg, snaps, labels=True, known_by=as_of)
    feats_cols = training.feature_columns(train, cfg.exclude_features)
    monotone = monotone_for(feats_cols, cfg.model_spec)
    model, info = training.fit(
        train, feats_cols, cfg.model_spec, horizon_days=cfg.horizon_days, seed=cfg.seed,
        negative_sample=cfg.negative_sample, n_folds=cfg.cv_folds, block=cfg.cv_block_months,
        min_train=cfg.min_train_snapshots, calibration=cfg.calibration, monotone=monotone,
        log=log)
    backtest = pd.Timestamp(as_of) + pd.Timedelta(days=cfg.horizon_days) <= end
    log(f"scoring the population at {as_of} (backtest: {backtest})")
    now = _build(dataset, cfg, [as_of], labels=backtest)
    if len(now) == 0:
        raise UserError(f"modelling: as-of {as_of}: rule 'someone to score', nobody had a "
                        "domestic incident known in the lookback window")
    scores = score_frame(model, now, cfg.k, cfg.bands)
    base = bl.compute(now, dataset, as_of, cfg.incumbent_window_days)
    metrics: dict = {"backtest": bool(backtest), "incumbent": base.attrs["incumbent"],
                     "validation": {"mean_ap": max(r["ap"] for r in info["search"])}}
    out_dir.mkdir(parents=True, exist_ok=True)
    if backtest:
        ev = now[["person_id", "as_of", "serious_harm", "homicide", "harm_weight"]].copy()
        ev["person_id"] = ev["person_id"].astype(str)
        ev["model"] = scores["score"].to_numpy()
        for col in base.columns:
            ev[col] = base[col].to_numpy()
        # a baseline nobody has a value for (source absent, no incumbent file) is not compared
        score_map = {"model": ev["model"].to_numpy(),
                     **{c: ev[c].to_numpy() for c in base.columns if base[c].notna().any()}}
        log(f"evaluating on {len(ev)} people, {int(ev['serious_harm'].sum())} positives")
        res = evaluate(ev["serious_harm"], ev["harm_weight"], ev["homicide"], score_map,
                       ks=cfg.ks, n_boot=cfg.n_boot, seed=cfg.eval_seed,
                       tiebreak={"model": scores["_margin"].to_numpy()})
        metrics.update(res)
        metrics.update(summarise(res, cfg.k))
        write_frame(out_dir / "evaluation.parquet", ev)
    write_frame(out_dir / "features.parquet",
                now[["person_id", "as_of", *feats_cols]].assign(
                    person_id=lambda f: f["person_id"].astype(str)))
    write_frame(out_dir / "scores.csv", scores[SCORE_COLUMNS])
    model.save(out_dir / "model")
    write_json(out_dir / "metrics.json", metrics)
    man = manifest(cfg, dataset, as_of, snaps, feats_cols, info, backtest, train.attrs)
    write_json(out_dir / "run.json", man)
    return IterationResult(out_dir, as_of, bool(backtest), model, scores[SCORE_COLUMNS],
                           metrics, man, info)
