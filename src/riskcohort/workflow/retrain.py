"""The ``retrain`` job: train a challenger on new data and promote it only on evidence.

Order: validate (into the staged folder) -> train, score, explain the challenger at the latest
backtest window -> publish its folder -> score the same window with the champion and compare
(paired bootstrap) -> log and register the challenger -> record the decision -> move the
``champion`` alias last, so an interruption never leaves a champion without its record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.tracking import promotion, registry, store
from riskcohort.tracking.guard import champion_guard
from riskcohort.tracking.iteration import log_iteration
from riskcohort.tracking.retrain import (
    champion_scores,
    compare_on_window,
    latest_backtest_as_of,
    log_decision,
)
from riskcohort.workflow import evidence
from riskcohort.workflow.run import check_quarantine, run_into

logger = logging.getLogger(__name__)


@dataclass
class RetrainResult:
    """What retrain did (``promoted`` is False on a dry run even when the rule says promote)."""

    decision: promotion.PromotionDecision
    run_dir: Path
    run_id: str
    promoted: bool
    dry_run: bool
    champion_metrics: dict


def _metric(m: dict, key: str) -> float:
    return m.get(key, {}).get("value", float("nan"))


def _train_challenger(cfg, data_dir, out: Path, as_of, uri: str, max_quarantine,
                      overwrite: bool):
    """Validate the data and train the challenger at the latest date whose outcome window is
    complete (a challenger is judged on a backtest), publishing its run folder whole."""
    from riskcohort.contract import load_dataset

    with runfolder.RunWriter(out, overwrite=overwrite, guard=champion_guard(uri)) as writer:
        logger.info("validating %s", data_dir)
        dataset = load_dataset(data_dir, report_dir=writer.path(L.VALIDATION_DIR))
        check_quarantine(dataset, cfg, max_quarantine, writer)
        when = (dt.date.fromisoformat(str(as_of)) if as_of
                else latest_backtest_as_of(dataset.tables, cfg.horizon_days))
        cfg = dataclasses.replace(cfg, as_of=when, out_dir=out)
        logger.info("training the challenger as of %s (latest backtest window) into %s", when, out)
        result, manifest = run_into(writer, cfg, dataset, when)
        if not result.backtest:
            raise UserError(f"retrain: as-of {when}: rule 'a full {cfg.horizon_days}-day "
                            "outcome window in the data', none; use an earlier --as-of")
        result.out_dir = writer.publish(manifest)
    return cfg, dataset, when, result


def _compare_with_champion(champion, result, cfg, dataset, when, uri: str) -> tuple[dict, Any]:
    """Score the same window with the champion and compare on the same people and resamples;
    returns the comparison and the recall@k difference (None without a champion)."""
    if champion is None:
        return {}, None
    logger.info("scoring the same window with champion version %s", champion.version)
    ids = result.evaluation["person_id"]
    p_champ = champion_scores(int(champion.version), cfg, dataset, when, ids, uri)
    res = compare_on_window(result.evaluation, p_champ, cfg.k, cfg.n_boot, cfg.eval_seed)
    d = res["differences"]["champion"][f"recall@{cfg.k}"]
    return res, (d["value"], d["lo"], d["hi"])


def _annotate(decision, ev: dict, champion, auto: bool) -> None:
    """What the decision record carries beside the checks: the data changes since the
    champion, an auto-approval said in words (demo only), the champion's version."""
    decision.extra["data_changes"] = ev["data_changes"]
    if auto:
        decision.extra.update(auto_approved=True,
                              approved="auto-approved with --auto-approve: demo only")
    decision.champion_version = int(champion.version) if champion is not None else None


def _promote(c, decision, result, uri: str, auto: bool) -> None:
    """Move the champion: through ``approve`` when auto-approved (demo only, said everywhere),
    else by setting the alias, last, after the decision record is logged."""
    if auto:
        from riskcohort.workflow.approve import approve

        approve(decision.challenger_version, "auto-approve (demo)",
                "--auto-approve: demo only, no person signed", tracking_uri=uri,
                run_dir=result.out_dir, auto_approved=True)
    else:
        registry.set_alias(c, registry.CHAMPION, decision.challenger_version)


def retrain(experiment: str | Path, data_dir: str | Path, *, out_dir: str | Path | None = None,
            as_of: str | dt.date | None = None, dry_run: bool = False,
            tracking_uri: str | None = None, work: str | Path | None = None,
            ece_max: float = promotion.DEFAULT_ECE_MAX,
            slope_range: tuple[float, float] = promotion.DEFAULT_SLOPE_RANGE,
            max_quarantine: float | None = None, overwrite: bool = False,
            auto_approve: bool = False, psi_max: float = promotion.DEFAULT_PSI_MAX,
            check_topk: bool = True) -> RetrainResult:
    """Validate ``data_dir``, train a challenger, compare, decide, log; promote unless dry run."""
    from riskcohort.modelling.config import load_experiment

    cfg = load_experiment(experiment, data=data_dir)
    uri = store.resolve_tracking_uri(tracking_uri, work)
    c = store.client(uri)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = Path(out_dir or store.work_dir(work) / "runs" / f"{cfg.name}-retrain-{stamp}")
    champion = registry.current_version(c, registry.CHAMPION)
    cfg, dataset, when, result = _train_challenger(cfg, data_dir, out, as_of, uri,
                                                   max_quarantine, overwrite)
    m = result.metrics["scores"][L.MODEL_SYSTEM]
    res, diff = _compare_with_champion(champion, result, cfg, dataset, when, uri)
    ev = evidence.gather(c, champion, result, cfg, data_dir)  # issue 18: stricter evidence
    decision = promotion.decide_promotion(diff, _metric(m, "ece"), _metric(m, "calibration_slope"),
                                          k=cfg.k, ece_max=ece_max, slope_range=slope_range,
                                          champion_exists=champion is not None,
                                          topk=ev["topk"] if check_topk else None,
                                          fairness=ev["fairness"],
                                          psi_max_value=ev["psi"], psi_max=psi_max)
    auto = auto_approve and champion is not None and decision.promote and not dry_run
    _annotate(decision, ev, champion, auto)
    run_id = log_iteration(result.out_dir, cfg, uri, register=not dry_run,
                           alias=registry.CHALLENGER)
    if not dry_run:
        decision.challenger_version = int(registry.resolve_version(c, registry.CHALLENGER).version)
    log_decision(c, run_id, result.out_dir, decision, res, dry_run)
    evidence.record(c, run_id, decision, ev["data_changes"], dry_run)
    # the champion moves only for the first model, or through a person's approval
    # (`riskcohort approve`); --auto-approve (demo only) approves here and says so everywhere
    promoted = decision.promote and not dry_run and (champion is None or auto)
    if promoted:
        _promote(c, decision, result, uri, auto)
    return RetrainResult(decision, result.out_dir, run_id, promoted, dry_run,
                         res.get("scores", {}).get("champion", {}))
