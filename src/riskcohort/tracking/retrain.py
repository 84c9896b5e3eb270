"""``riskcohort retrain``: train a challenger on new data and promote it only on evidence.

Why the same window: comparing a challenger's backtest with the champion's old backtest mixes a
model change with a change of population and period. Here both models score the SAME latest
backtest snapshot of the new data (the champion loaded from the registry), the difference in
recall@k gets a paired bootstrap interval, and ``promotion.decide_promotion`` decides.
The decision and its numbers are logged on the challenger's run (tag, metrics, ``promotion.md``)
whatever the outcome, so a reviewer can see why a model was or was not adopted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from riskcohort.errors import UserError
from riskcohort.io import write_json, write_text
from riskcohort.tracking import promotion, registry, store
from riskcohort.tracking.iteration import log_iteration


@dataclass
class RetrainResult:
    """What retrain did (``promoted`` is False on a dry run even when the rule says promote)."""

    decision: promotion.PromotionDecision
    run_dir: Path
    run_id: str
    promoted: bool
    dry_run: bool
    champion_metrics: dict


def latest_backtest_as_of(tables: dict, horizon_days: int) -> dt.date:
    """The latest as-of whose whole outcome window lies inside the data."""
    from riskcohort.modelling.iteration import data_range

    _, end = data_range(tables)
    return (end.normalize() - dt.timedelta(days=horizon_days)).date()


def champion_scores(version: int, cfg, dataset, as_of, person_ids, uri: str):
    """The champion's probabilities for the backtest population (by person_id; NaN if absent)."""
    import tempfile

    import numpy as np

    from riskcohort import features
    from riskcohort.modelling.model import CohortModel

    with tempfile.TemporaryDirectory() as tmp:
        reg = registry.load_registered(version, tracking_uri=uri, dst=tmp)
        model = CohortModel.load(reg.model_dir)
    feats = features.build(dataset, [as_of], labels=False, horizon_days=cfg.horizon_days,
                           serious_offences=cfg.serious_offences,
                           domestic_only=cfg.domestic_only, lookback_days=cfg.lookback_days)
    p = model.predict_risk(feats)
    by_id = dict(zip(feats["person_id"].astype(str), p, strict=True))
    return np.array([by_id.get(str(i), np.nan) for i in person_ids], dtype=float)


def compare_on_window(run_dir: Path, p_champion, k: int, n_boot: int, seed: int) -> dict:
    """Paired evaluation of challenger vs champion on the challenger's backtest window."""
    import pandas as pd

    from riskcohort.modelling.metrics import evaluate

    ev = pd.read_parquet(run_dir / "evaluation.parquet")
    return evaluate(ev["serious_harm"], ev["harm_weight"], ev["homicide"],
                    {"challenger": ev["model"].to_numpy(), "champion": p_champion}, ks=(k,),
                    n_boot=n_boot, seed=seed, reference="challenger",
                    probabilities=("challenger", "champion"))


def _log_decision(c, run_id, run_dir, decision, res, dry_run) -> None:
    from riskcohort.tracking.runfolder import flatten

    text = promotion.markdown(decision, dry_run)
    write_text(run_dir / "promotion.md", text)
    write_json(run_dir / "promotion.json", {"dry_run": dry_run, **decision.as_dict()})
    c.set_tag(run_id, "promotion.decision", "promote" if decision.promote else "keep")
    c.set_tag(run_id, "promotion.dry_run", str(dry_run).lower())
    c.set_tag(run_id, "promotion.reasons", "; ".join(decision.reasons)[:5000])
    champ = flatten(res.get("scores", {}).get("champion", {}), "champion_same_window")
    nums = {"promotion_recall_diff": decision.recall_diff,
            "promotion_recall_diff_lo": decision.recall_diff_lo,
            "promotion_recall_diff_hi": decision.recall_diff_hi, **champ}
    for key, value in nums.items():
        if value == value:  # not NaN
            c.log_metric(run_id, key, float(value))
    c.log_artifact(run_id, str(run_dir / "promotion.md"))
    c.log_artifact(run_id, str(run_dir / "promotion.json"))


def retrain(experiment, data_dir, *, out_dir=None, as_of=None, dry_run: bool = False,
            tracking_uri: str | None = None, work=None,
            ece_max: float = promotion.DEFAULT_ECE_MAX,
            slope_range: tuple[float, float] = promotion.DEFAULT_SLOPE_RANGE,
            log=None) -> RetrainResult:
    """Validate ``data_dir``, train a challenger, compare, decide, log; promote unless dry run."""
    from riskcohort.contract import load_dataset
    from riskcohort.modelling.config import load_experiment
    from riskcohort.workflow import run_experiment

    log = log or (lambda msg: None)
    cfg = load_experiment(experiment, data=data_dir)
    uri = store.resolve_tracking_uri(tracking_uri, work)
    c = store.client(uri)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = Path(out_dir or store.work_dir(work) / "runs" / f"{cfg.name}-retrain-{stamp}")
    log(f"validating {data_dir}")
    dataset = load_dataset(data_dir, report_dir=out / "validation")
    cfg.as_of = (dt.date.fromisoformat(str(as_of)) if as_of
                 else latest_backtest_as_of(dataset.tables, cfg.horizon_days))
    cfg.out_dir = out
    champion = registry.current_version(c, registry.CHAMPION)
    log(f"training the challenger as of {cfg.as_of} (latest backtest window) into {out}")
    result = run_experiment(cfg, dataset=dataset, log=log)
    if not result.backtest:
        raise UserError(f"retrain: as-of {cfg.as_of}: rule 'a full {cfg.horizon_days}-day "
                        "outcome window in the data', none; use an earlier --as-of")
    m = result.metrics["scores"]["model"]
    ece, slope = m.get("ece", {}).get("value", float("nan")), \
        m.get("calibration_slope", {}).get("value", float("nan"))
    res, diff = {}, None
    if champion is not None:
        import pandas as pd

        log(f"scoring the same window with champion version {champion.version}")
        ids = pd.read_parquet(out / "evaluation.parquet", columns=["person_id"])["person_id"]
        p_champ = champion_scores(int(champion.version), cfg, dataset, cfg.as_of, ids, uri)
        res = compare_on_window(out, p_champ, cfg.k, cfg.n_boot, cfg.eval_seed)
        d = res["differences"]["champion"][f"recall@{cfg.k}"]
        diff = (d["value"], d["lo"], d["hi"])
    decision = promotion.decide_promotion(diff, ece, slope, k=cfg.k, ece_max=ece_max,
                                          slope_range=slope_range,
                                          champion_exists=champion is not None)
    decision.champion_version = int(champion.version) if champion is not None else None
    run_id = log_iteration(out, cfg, uri, register=not dry_run, alias=registry.CHALLENGER)
    if not dry_run:
        decision.challenger_version = int(registry.resolve_version(c, registry.CHALLENGER).version)
    _log_decision(c, run_id, out, decision, res, dry_run)
    promoted = decision.promote and not dry_run
    if promoted:  # the alias moves last, after the decision record is logged
        registry.set_alias(c, registry.CHAMPION, decision.challenger_version)
    return RetrainResult(decision, out, run_id, promoted, dry_run,
                         res.get("scores", {}).get("champion", {}))
