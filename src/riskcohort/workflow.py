"""Wiring of the stages for whole jobs (run, backtest, retrain, demo).

The one module allowed to import every stage: contract -> features -> modelling -> explain ->
tracking -> governance. Filled in as the stages land; explain/tracking/governance calls are added
after :func:`run_experiment` produced the run folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from riskcohort.errors import UserError


def run_experiment(config, data_dir=None, as_of=None, out_dir=None, log=None, dataset=None):
    """Load the dataset named by ``config`` (or ``data_dir``) and run one iteration.

    ``config`` is an :class:`~riskcohort.modelling.config.ExperimentConfig` or a path to its TOML.
    Returns the :class:`~riskcohort.modelling.iteration.IterationResult`.
    """
    from riskcohort.contract import load_dataset
    from riskcohort.explain.run import explain_run
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import run_iteration

    cfg = config if hasattr(config, "horizon_days") else load_experiment(config, data=data_dir)
    if data_dir is not None:
        cfg.data_dir = Path(data_dir).resolve()
    out = out_dir or cfg.out_dir
    if dataset is None:  # the validation report travels with the run (governance reads it)
        dataset = load_dataset(cfg.data_dir, report_dir=Path(out) / "validation" if out else None)
    result = run_iteration(cfg, dataset, as_of=as_of or cfg.as_of, out_dir=out, log=log)
    (log or (lambda m: None))("explaining every score (SHAP) and writing global plots")
    explain_run(result.out_dir, dataset)
    return result


def run_and_track(config, data_dir=None, as_of=None, out_dir=None, tracking_uri=None, work=None,
                  log=None):
    """``riskcohort run``: one iteration (validate, train, score, explain), then its MLflow record.

    The model version is registered as ``challenger``; the very first model registered becomes
    ``champion`` too (there is nothing to compare it with); after that only ``retrain``'s
    evidence rule moves ``champion``.
    """
    from riskcohort.modelling.config import load_experiment
    from riskcohort.tracking import log_iteration

    cfg = config if hasattr(config, "horizon_days") else load_experiment(config, data=data_dir)
    if data_dir is not None:
        cfg.data_dir = Path(data_dir).resolve()
    if out_dir is not None:
        cfg.out_dir = Path(out_dir)
    result = run_experiment(cfg, as_of=as_of, log=log)
    (log or (lambda m: None))("logging the iteration and its baselines to MLflow")
    run_id = log_iteration(result.out_dir, cfg, tracking_uri, work=work)
    return result, run_id


def backtest_dates(start: dt.date, end: dt.date, every_months: int) -> list[dt.date]:
    """As-of dates from ``start`` to ``end`` inclusive, every ``every_months`` months.

    >>> backtest_dates(dt.date(2024, 1, 1), dt.date(2025, 1, 1), 6)
    [datetime.date(2024, 1, 1), datetime.date(2024, 7, 1), datetime.date(2025, 1, 1)]
    """
    if every_months < 1:
        raise UserError("option --every: rule 'at least 1 month'")
    if end < start:
        raise UserError(f"options --from/--to: rule 'from <= to', got {start} > {end}")
    out, i = [], 0
    while True:
        m = start.month - 1 + i * every_months
        d = dt.date(start.year + m // 12, m % 12 + 1, min(start.day, 28))
        if d > end:
            return out
        out.append(d)
        i += 1


def backtest(config, start, end, every_months=None, data_dir=None, out_dir=None, log=None):
    """One iteration per as-of date (each trains only on what was known then).

    Writes ``<out>/<as_of>/`` run folders and ``<out>/backtest.json`` (headline metrics per
    date and, with two or more backtest dates, top-k metrics pooled over the dates with a
    stratified paired bootstrap: ``modelling.pooled``). Returns the list of results.
    """
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.io import write_json
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import run_iteration
    from riskcohort.modelling.pooled import pooled_topk

    cfg = config if hasattr(config, "horizon_days") else load_experiment(config, data=data_dir)
    if data_dir is not None:
        cfg.data_dir = Path(data_dir).resolve()
    every = every_months or cfg.backtest_every_months
    dates = backtest_dates(start, end, every)
    out = Path(out_dir or cfg.out_dir or Path("runs") / f"{cfg.name}-backtest")
    dataset = load_dataset(cfg.data_dir)
    results, summary = [], []
    for d in dates:
        res = run_iteration(cfg, dataset, as_of=d, out_dir=out / str(d), log=log)
        results.append(res)
        m = res.metrics
        row = {"as_of": str(d), "backtest": m.get("backtest"), "run_dir": str(res.out_dir)}
        for name, sc in m.get("scores", {}).items():
            row[name] = {key: sc[key]["value"] for key in sc}
        row["targets"] = m.get("targets")
        row["share_of_oracle"] = m.get("share_of_oracle")
        summary.append(row)
    report = {"experiment": cfg.name, "dates": summary}
    frames = [pd.read_parquet(r.out_dir / "evaluation.parquet") for r in results if r.backtest]
    if len(frames) >= 2:  # cohorts of k per date, people caught summed (stratified bootstrap)
        names = [c for c in frames[0].columns
                 if c not in ("person_id", "as_of", "serious_harm", "homicide", "harm_weight")]
        report["pooled"] = pooled_topk(frames, names, ks=cfg.ks, n_boot=cfg.n_boot,
                                       seed=cfg.eval_seed)
    write_json(out / "backtest.json", report)
    return results
