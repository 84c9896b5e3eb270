"""``run_iteration``: train as of a date, score the population at that date, evaluate a backtest.

Pure computation, in one order: training snapshots (leakage-guarded) -> features with labels
known by as-of -> rolling-origin search and calibration -> score the as-of population ->
baselines -> metrics when the outcome window after as-of is in the data (a backtest). The result
is returned in memory (:class:`IterationResult`); writing the run folder is the job of
:mod:`riskcohort.runfolder`, called by the jobs in :mod:`riskcohort.workflow`.

Nothing after ``as_of`` is used for training: snapshots satisfy ``T + horizon <= as_of`` and their
labels only count incidents recorded before ``as_of`` (``labels_known_by``). Later records are read
only to *evaluate* a backtest, never to fit or calibrate.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort import interrupts, memory
from riskcohort.errors import UserError
from riskcohort.modelling import baselines as bl
from riskcohort.modelling import scoreplan, spark_scoring, training, trainset, treatment
from riskcohort.modelling.manifest import manifest, monotone_for, summarise
from riskcohort.modelling.metrics import evaluate
from riskcohort.modelling.model import CohortModel
from riskcohort.runfolder.layout import EVALUATION_KEYS, KEY_COLUMNS, SCORE_DETAIL_COLUMNS
from riskcohort.runfolder.layout import SCORE_COLUMNS as _SCORE_COLUMNS

logger = logging.getLogger(__name__)

SCORE_COLUMNS = [*_SCORE_COLUMNS, *SCORE_DETAIL_COLUMNS]


@dataclass
class IterationResult:
    """What an iteration computed, in memory (the run folder's content).

    ``features`` is the scored snapshot (person_id, as_of, the model's inputs); ``evaluation``
    (backtests only) holds the outcomes and every system's score per person; ``manifest`` the
    fields of run.json. ``out_dir`` is set by the job once the run folder is published.
    """

    as_of: dt.date
    backtest: bool
    model: CohortModel
    scores: pd.DataFrame
    features: pd.DataFrame
    metrics: dict
    manifest: dict
    evaluation: pd.DataFrame | None = None
    training: dict = field(default_factory=dict)
    out_dir: Path | None = None


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
    """scores.csv rows: calibrated score with its interval, rank, tie mark, cohort and band.

    Ranks come from the raw margin (the calibrated score is strictly increasing in it). People
    with exactly the same margin are a true tie: they share the best rank of the tie ("1, 2, 2,
    4"), ``tied`` is true for each of them, and the cohort (``rank <= k``) takes a tie at the
    cut-off whole, so it may hold more than ``k`` people; nothing in the model separates them,
    and the cut must not pretend it does. ``score_lo``/``score_hi``: the model's 90% interval
    (:meth:`CohortModel.predict_interval`). The cohort record (``k``, ``cohort_size``,
    ``cohort_note``) is in ``frame.attrs["cohort"]`` for the manifest; ``_margin`` is for the
    evaluation's tie-break and is not written.
    """
    # in process, or on Spark with ``--engine spark`` (mapInPandas; the same numbers)
    margin, p, lo, hi = spark_scoring.predictions(model, feats)
    rank = pd.Series(-margin).rank(method="min").astype(np.int64).to_numpy()
    tied = pd.Series(margin).duplicated(keep=False).to_numpy()
    in_cohort = rank <= k
    frame = pd.DataFrame({
        "person_id": feats["person_id"].astype(str).to_numpy(),
        "as_of": pd.to_datetime(feats["as_of"]).dt.date.astype(str).to_numpy(),
        "score": p, "rank": rank, "in_cohort": in_cohort, "band": assign_bands(p, bands),
        "tied": tied, "score_lo": lo, "score_hi": hi, **_custody_columns(feats),
        "_margin": margin,
    })
    frame.attrs["cohort"] = cohort_record(rank, tied, k)
    if frame.attrs["cohort"]["cohort_note"]:
        logger.info(frame.attrs["cohort"]["cohort_note"])
    return frame


def _custody_columns(feats: pd.DataFrame) -> dict:
    """``in_custody`` (nullable bool) and ``days_since_custody_release`` (nullable whole days)
    from the features' custody indicators, so scores.csv says who was held at T."""
    nan = pd.Series(np.nan, index=feats.index)
    held = feats.get("in_custody", nan)
    days = feats.get("days_since_custody_release", nan)
    return {"in_custody": pd.array([None if pd.isna(v) else bool(v >= 0.5) for v in held],
                                   dtype="boolean"),
            "days_since_custody_release": pd.array(
                np.round(days.to_numpy(dtype=float)), dtype="Float64").astype("Int64")}


def cohort_record(rank: np.ndarray, tied: np.ndarray, k: int) -> dict:
    """``k``, ``cohort_size`` and a plain-English ``cohort_note`` when a tie made it grow.

    >>> r = cohort_record(np.array([1, 2, 2, 2, 5]), np.array([0, 1, 1, 1, 0], bool), 2)
    >>> r["cohort_size"], r["cohort_note"][:48]
    (4, 'The cohort has 4 people, not 2: 3 people share r')
    """
    size = int((rank <= k).sum())
    note = ""
    if size > k:
        at_cut = int(rank[rank <= k].max())
        n_tie = int(((rank == at_cut) & tied).sum())
        note = (f"The cohort has {size} people, not {k}: {n_tie} people share rank {at_cut} "
                "with exactly the same score and are all included.")
    return {"k": int(k), "cohort_size": size, "cohort_note": note}


def _build(dataset, cfg, as_of_list, labels, known_by=None, keep=None):
    from riskcohort import features

    return features.build(
        dataset, as_of_list, labels=labels, horizon_days=cfg.horizon_days,
        serious_offences=cfg.serious_offences, domestic_only=cfg.domestic_only,
        lookback_days=cfg.lookback_days, labels_known_by=known_by, keep=keep,
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


@dataclass
class _Trained:
    """What training hands to scoring: the fitted model and what run.json records about it."""

    model: CohortModel
    info: dict
    feature_columns: list[str]
    extra: list[str]
    snapshots: list[dt.date]
    attrs: dict


def _resolve_as_of(cfg, tables: dict, as_of) -> dt.date:
    """The as-of date asked for (argument, then config, then the day after the latest record),
    refused when it is not after the first record: nothing could be learned before it."""
    start, _ = data_range(tables)
    as_of = pd.Timestamp(as_of or cfg.as_of or default_as_of(tables)).date()
    if pd.Timestamp(as_of) <= start:
        raise UserError(f"modelling: as-of {as_of}: rule 'after the first record', the data "
                        f"start at {start.date()}")
    return as_of


def _check_scoring_fits(cfg, tables: dict, as_of: dt.date) -> None:
    """The scoring stage's memory, estimated and refused before training (``scoreplan``)."""
    from riskcohort.features.engine import indicator_names

    people = trainset.population_sizes(tables, [as_of], cfg.lookback_days, cfg.domestic_only)[0]
    scoreplan.check(scoreplan.estimate(people, len(indicator_names()),
                                       trainset.available_bytes()))


def _train(cfg, dataset, tables: dict, as_of: dt.date) -> _Trained:
    """Build the training snapshots known by ``as_of`` and fit the model on them, adjusting for
    management (issue 17.3: outcomes WITH management are not the risk without it)."""
    snaps = training_snapshots(cfg, tables, as_of)
    training.require_folds(snaps, cfg.horizon_days, cfg.cv_folds, cfg.cv_block_months,
                           cfg.min_train_snapshots)  # refused before the heavy work
    _check_scoring_fits(cfg, tables, as_of)
    logger.info("as-of %s: building features for %d training snapshots", as_of, len(snaps))
    # a batch of snapshots at a time, negatives sampled as built (bounded memory: trainset.py)
    tset = trainset.build_training_set(dataset, cfg, snaps, known_by=as_of)
    # the model inputs stay in tset.X (one matrix, not copied); ipw alone needs them as a frame
    train = tset.frame if cfg.interventions == "ipw" else tset.keys
    feats_cols = list(tset.features)
    treat = treatment.adjust(train, tset.weights, cfg.interventions, tables, cfg.horizon_days,
                             as_of, feats_cols)
    feats_cols = feats_cols + treat.extra
    monotone = monotone_for(feats_cols, cfg.model_spec)
    interrupts.checkpoint("training")
    model, info = training.fit(
        train, feats_cols, cfg.model_spec, horizon_days=cfg.horizon_days, seed=cfg.seed,
        negative_sample=cfg.negative_sample, n_folds=cfg.cv_folds, block=cfg.cv_block_months,
        min_train=cfg.min_train_snapshots, calibration=cfg.calibration, monotone=monotone,
        sample_weight=treat.weights, matrix=(tset.X, tset.features))
    info = {**info, "training_set": tset.record(), "interventions": treat.record}
    return _Trained(model, info, feats_cols, list(treat.extra), snaps, {"notes": tset.notes})


def _population(cfg, dataset, as_of: dt.date, backtest: bool, extra: list[str]) -> pd.DataFrame:
    """The people to score at ``as_of`` (with outcomes on a backtest); refused when empty."""
    now = treatment.for_scoring(_build(dataset, cfg, [as_of], labels=backtest), extra)
    if len(now) == 0:
        raise UserError(f"modelling: as-of {as_of}: rule 'someone to score', nobody had a "
                        "domestic incident known in the lookback window")
    return now


def _evaluate_backtest(cfg, now: pd.DataFrame, scores: pd.DataFrame, base: pd.DataFrame,
                       tables: dict, as_of: dt.date) -> tuple[dict, pd.DataFrame]:
    """Metrics of the model and every baseline on the known outcomes, and the per-person frame
    they were computed from (kept so the pack and tests can recompute every number)."""
    ev = now[list(EVALUATION_KEYS)].copy()
    ev["person_id"] = ev["person_id"].astype(str)
    ev["model"] = scores["score"].to_numpy()
    for col in base.columns:
        ev[col] = base[col].to_numpy()
    # a baseline nobody has a value for (source absent, no incumbent file) is not compared
    score_map = {"model": ev["model"].to_numpy(),
                 **{c: ev[c].to_numpy() for c in base.columns if base[c].notna().any()}}
    logger.info("evaluating on %d people, %d positives", len(ev), int(ev["serious_harm"].sum()))
    res = evaluate(ev["serious_harm"], ev["harm_weight"], ev["homicide"], score_map,
                   ks=cfg.ks, n_boot=cfg.n_boot, seed=cfg.eval_seed,
                   tiebreak={"model": scores["_margin"].to_numpy()})
    metrics = {**res, **summarise(res, cfg.k)}
    metrics["by_management"] = treatment.by_management(
        ev, tables, as_of, cfg.horizon_days, [c for c in score_map if c != "oracle"])
    return metrics, ev


def run_iteration(cfg, dataset, as_of=None) -> IterationResult:
    """Train, score and (when outcomes are known) evaluate at ``as_of``; nothing is written."""
    interrupts.checkpoint("validated")  # fault-injection hook (tests/faults)
    tables = dataset.tables if hasattr(dataset, "tables") else dataset
    as_of = _resolve_as_of(cfg, tables, as_of)
    fit = _train(cfg, dataset, tables, as_of)
    memory.release()  # the training set is gone with _train: give its pages back before scoring
    backtest = pd.Timestamp(as_of) + pd.Timedelta(days=cfg.horizon_days) <= data_range(tables)[1]
    logger.info("scoring the population at %s (backtest: %s); process memory %s", as_of,
                backtest, memory.process_memory())
    now = _population(cfg, dataset, as_of, backtest, fit.extra)
    logger.info("scoring snapshot: %d people x %d columns; process memory %s", len(now),
                now.shape[1], memory.process_memory())
    scores = score_frame(fit.model, now, cfg.k, cfg.bands)
    base = bl.compute(now, dataset, as_of, cfg.incumbent_window_days)
    logger.info("scored, baselines computed; process memory %s", memory.process_memory())
    metrics: dict = {"backtest": bool(backtest), "incumbent": base.attrs["incumbent"],
                     "validation": {"mean_ap": max(r["ap"] for r in fit.info["search"])}}
    ev = None
    if backtest:
        evaluation, ev = _evaluate_backtest(cfg, now, scores, base, tables, as_of)
        metrics.update(evaluation)
    feats = now[[*KEY_COLUMNS, *fit.feature_columns]].assign(
        person_id=lambda f: f["person_id"].astype(str))
    man = manifest(cfg, dataset, as_of, fit.snapshots, fit.feature_columns, fit.info, backtest,
                   fit.attrs)
    man.update({key: scores.attrs["cohort"][key] for key in ("cohort_size", "cohort_note")})
    return IterationResult(as_of, bool(backtest), model=fit.model, scores=scores[SCORE_COLUMNS],
                           features=feats, metrics=metrics, manifest=man, evaluation=ev,
                           training=fit.info)
