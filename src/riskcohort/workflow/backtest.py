"""The ``backtest`` job: one iteration per as-of date, each trained only on what was known then.

The backtest folder (``<out>/<as_of>/`` run folders and ``backtest.json``) is staged and
published whole: an interrupted backtest leaves the previous one, never a mixture of dates.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.workflow.run import check_quarantine, load_config, run_into

if TYPE_CHECKING:
    from riskcohort.modelling.config import ExperimentConfig
    from riskcohort.modelling.iteration import IterationResult

logger = logging.getLogger(__name__)


def backtest_dates(start: dt.date, end: dt.date, every_months: int) -> list[dt.date]:
    """As-of dates from ``start`` to ``end`` inclusive, every ``every_months`` months.

    >>> backtest_dates(dt.date(2024, 1, 1), dt.date(2025, 1, 1), 6)
    [datetime.date(2024, 1, 1), datetime.date(2024, 7, 1), datetime.date(2025, 1, 1)]
    """
    if every_months < 1:
        raise UserError("option --every: rule 'at least 1 month'")
    if end < start:
        raise UserError(f"options --from/--to: rule 'from <= to', got {start} > {end}")
    out: list[dt.date] = []
    i = 0
    while True:
        m = start.month - 1 + i * every_months
        d = dt.date(start.year + m // 12, m % 12 + 1, min(start.day, 28))
        if d > end:
            return out
        out.append(d)
        i += 1


def _row(res, name: str) -> dict:
    m = res.metrics
    row = {"as_of": str(res.as_of), "backtest": m.get("backtest"), "run_dir": name}
    for system, sc in m.get("scores", {}).items():
        row[system] = {key: sc[key]["value"] for key in sc}
    row["targets"] = m.get("targets")
    row["share_of_oracle"] = m.get("share_of_oracle")
    return row


def backtest(config: ExperimentConfig | str | Path, start: dt.date, end: dt.date,
             every_months: int | None = None, data_dir: str | Path | None = None,
             out_dir: str | Path | None = None, max_quarantine: float | None = None, *,
             overwrite: bool = False) -> list[IterationResult]:
    """Run and publish a backtest folder; returns the IterationResults (``out_dir`` set;
    ``features`` emptied once published: each date's are in its folder).

    ``backtest.json`` holds headline metrics per date and, with two or more backtest dates,
    top-k metrics pooled over the dates with a stratified paired bootstrap
    (``modelling.pooled``).
    """
    from riskcohort.contract import load_dataset
    from riskcohort.modelling.pooled import pooled_topk

    cfg = load_config(config, data_dir)
    dates = backtest_dates(start, end, every_months or cfg.backtest_every_months)
    out = Path(out_dir or cfg.out_dir or Path("runs") / f"{cfg.name}-backtest")
    results = []
    with runfolder.BacktestWriter(out, overwrite=overwrite) as folder:
        dataset = load_dataset(cfg.data_dir)
        check_quarantine(dataset, cfg, max_quarantine)
        for d in dates:
            with folder.run_writer(str(d)) as writer:
                res, manifest = run_into(writer, cfg, dataset, d, explain=False)
                writer.publish(manifest)
            # published; the summary needs metrics and evaluation only, and a national scored
            # snapshot is GBs per date (issue 22): its features stay in the date's folder
            res.features = res.features.iloc[:0]
            results.append(res)
        summary = runfolder.BacktestSummary(
            experiment=cfg.name, dates=[_row(r, str(r.as_of)) for r in results],
            runs={str(r.as_of): str(r.as_of) for r in results})
        frames = [r.evaluation for r in results if r.backtest]
        if len(frames) >= 2:  # cohorts of k per date, people caught summed (stratified bootstrap)
            names = [c for c in frames[0].columns if c not in L.EVALUATION_KEYS]
            summary = summary.replace(pooled=pooled_topk(frames, names, ks=cfg.ks,
                                                         n_boot=cfg.n_boot, seed=cfg.eval_seed))
        published = folder.publish(summary)
    for r in results:
        r.out_dir = published / str(r.as_of)
    logger.info("published backtest folder %s", published)
    return results
