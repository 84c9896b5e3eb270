"""Retrain's tracking steps: the champion's scores on the challenger's window, the paired
comparison, and the decision record (the job itself is ``riskcohort.workflow.retrain``).

Why the same window: comparing a challenger's backtest with the champion's old backtest mixes a
model change with a change of population and period. Here both models score the SAME latest
backtest snapshot of the new data (the champion loaded from the registry), the difference in
recall@k gets a paired bootstrap interval, and ``promotion.decide_promotion`` decides.
The decision and its numbers are logged on the challenger's run (tag, metrics, ``promotion.md``)
whatever the outcome, so a reviewer can see why a model was or was not adopted.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from riskcohort import io, runfolder
from riskcohort.runfolder import layout as L
from riskcohort.tracking import promotion, registry

logger = logging.getLogger(__name__)


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


def compare_on_window(evaluation, p_champion, k: int, n_boot: int, seed: int) -> dict:
    """Paired evaluation of challenger vs champion on the challenger's backtest window
    (``evaluation``: the challenger's evaluation frame, in memory)."""
    from riskcohort.modelling.metrics import evaluate

    ev = evaluation
    return evaluate(ev["serious_harm"], ev["harm_weight"], ev["homicide"],
                    {"challenger": ev[L.MODEL_SYSTEM].to_numpy(), "champion": p_champion},
                    ks=(k,), n_boot=n_boot, seed=seed, reference="challenger",
                    probabilities=("challenger", "champion"))


def log_decision(c, run_id: str, run_dir: Path, decision: promotion.PromotionDecision, res: dict,
                 dry_run: bool) -> None:
    """Attach ``promotion.md``/``promotion.json`` to the run folder and log them, the decision
    tags and the champion's same-window metrics on the challenger's MLflow run."""
    from riskcohort.tracking.metricnames import flatten

    text = promotion.markdown(decision, dry_run)
    md = runfolder.attach(run_dir, L.PROMOTION_MD, lambda p: p.write_text(text, encoding="utf-8"))
    js = runfolder.attach(run_dir, L.PROMOTION_JSON, lambda p: io.write_json(
        p, {"dry_run": dry_run, **decision.as_dict()}))
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
    c.log_artifact(run_id, str(md))
    c.log_artifact(run_id, str(js))
