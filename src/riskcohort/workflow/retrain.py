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


def retrain(experiment: str | Path, data_dir: str | Path, *, out_dir: str | Path | None = None,
            as_of: str | dt.date | None = None, dry_run: bool = False,
            tracking_uri: str | None = None, work: str | Path | None = None,
            ece_max: float = promotion.DEFAULT_ECE_MAX,
            slope_range: tuple[float, float] = promotion.DEFAULT_SLOPE_RANGE,
            max_quarantine: float | None = None, overwrite: bool = False,
            auto_approve: bool = False, psi_max: float = promotion.DEFAULT_PSI_MAX,
            check_topk: bool = True) -> RetrainResult:
    """Validate ``data_dir``, train a challenger, compare, decide, log; promote unless dry run."""
    from riskcohort.contract import load_dataset
    from riskcohort.modelling.config import load_experiment

    cfg = load_experiment(experiment, data=data_dir)
    uri = store.resolve_tracking_uri(tracking_uri, work)
    c = store.client(uri)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = Path(out_dir or store.work_dir(work) / "runs" / f"{cfg.name}-retrain-{stamp}")
    champion = registry.current_version(c, registry.CHAMPION)
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
    m = result.metrics["scores"][L.MODEL_SYSTEM]
    res, diff = {}, None
    if champion is not None:
        logger.info("scoring the same window with champion version %s", champion.version)
        ids = result.evaluation["person_id"]
        p_champ = champion_scores(int(champion.version), cfg, dataset, when, ids, uri)
        res = compare_on_window(result.evaluation, p_champ, cfg.k, cfg.n_boot, cfg.eval_seed)
        d = res["differences"]["champion"][f"recall@{cfg.k}"]
        diff = (d["value"], d["lo"], d["hi"])
    ev = evidence.gather(c, champion, result, cfg, data_dir)  # issue 18: stricter evidence
    decision = promotion.decide_promotion(diff, _metric(m, "ece"), _metric(m, "calibration_slope"),
                                          k=cfg.k, ece_max=ece_max, slope_range=slope_range,
                                          champion_exists=champion is not None,
                                          topk=ev["topk"] if check_topk else None,
                                          fairness=ev["fairness"],
                                          psi_max_value=ev["psi"], psi_max=psi_max)
    decision.extra["data_changes"] = ev["data_changes"]
    auto = auto_approve and champion is not None and decision.promote and not dry_run
    if auto:
        decision.extra.update(auto_approved=True,
                              approved="auto-approved with --auto-approve: demo only")
    decision.champion_version = int(champion.version) if champion is not None else None
    run_id = log_iteration(result.out_dir, cfg, uri, register=not dry_run,
                           alias=registry.CHALLENGER)
    if not dry_run:
        decision.challenger_version = int(registry.resolve_version(c, registry.CHALLENGER).version)
    log_decision(c, run_id, result.out_dir, decision, res, dry_run)
    evidence.record(c, run_id, decision, ev["data_changes"], dry_run)
    # the champion moves only for the first model, or through a person's approval
    # (`riskcohort approve`); --auto-approve (demo only) approves here and says so everywhere
    promoted = decision.promote and not dry_run and (champion is None or auto)
    if promoted and auto:
        from riskcohort.workflow.approve import approve

        approve(decision.challenger_version, "auto-approve (demo)",
                "--auto-approve: demo only, no person signed", tracking_uri=uri,
                run_dir=result.out_dir, auto_approved=True)
    elif promoted:  # the alias moves last, after the decision record is logged
        registry.set_alias(c, registry.CHAMPION, decision.challenger_version)
    return RetrainResult(decision, result.out_dir, run_id, promoted, dry_run,
                         res.get("scores", {}).get("champion", {}))
