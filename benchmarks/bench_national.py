"""Benchmark of the whole training job by stage at national scale (prints figures; not a test).

Stages, in the order ``riskcohort run`` does them, in one process:
  * ``load+validate``     contract.load_dataset (reading, Great Expectations, quarantine);
  * ``training features`` modelling.trainset.build_training_set (snapshots in batches, negatives
                          sampled as built, float32 where exact; the memory plan is logged first);
  * ``fit``               training.fit (rolling-origin search, calibration, interval members);
  * ``scoring``           the as-of population's indicators and score_frame (score, interval,
                          rank);
  * ``explain``           SHAP contributions of everyone scored (LightGBM's TreeSHAP,
                          ``pred_contrib``) in chunks of ``--chunk`` rows: the computation behind
                          explanations.parquet, not the plots.

Each stage prints wall seconds, CPU seconds (user + system of this process) and its peak RSS
(sampled every 0.1 s by a thread, so a spike shorter than that can be missed; ``max_rss_gb`` is
the kernel's whole-process peak, exact). The national preset by default:

    nice .venv/bin/riskcohort simulate --out /tmp/bench/national --preset national --seed 0
    nice .venv/bin/python benchmarks/bench_national.py --data /tmp/bench/national \\
        [--max-snapshots 36] [--negative-sample 0.2] [--memory-limit 16G] [--json out.json] \\
        [--row-budget N] [--validation-budget N] [--float64-max-rows N]

The training stage logs each batch (``training snapshots batch i/n``) with a timestamp, so a run
stopped early still shows how far it got; the last three options exercise the budgeted paths
(sampled validation, float32 matrix) on data small enough to finish, e.g. the force preset.

A job the machine cannot hold stops at ``training features`` with the memory plan's one-line
message (what ``riskcohort run`` prints), which is itself a result worth reporting.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import resource
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3


class Stage:
    """Wall/CPU time and peak RSS of a ``with`` block."""

    def __init__(self, name: str, results: list):
        self.name, self.results = name, results

    def _watch(self):
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            self._stop.wait(0.1)

    def __enter__(self):
        self.peak = psutil.Process().memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        row = {"stage": self.name, "wall_s": round(time.perf_counter() - self.t0, 1),
               "cpu_s": round(time.process_time() - self.c0, 1),
               "peak_rss_gb": round(self.peak / GIB, 2),
               "max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
                                   2),
               "ok": exc[0] is None}
        self.results.append(row)
        print(f"{row['stage']:<18} wall {row['wall_s']:>8.1f} s  cpu {row['cpu_s']:>8.1f} s  "
              f"peak RSS {row['peak_rss_gb']:>6.2f} GB  (process max {row['max_rss_gb']:.2f} GB)"
              f"{'' if row['ok'] else '  FAILED'}", flush=True)
        return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/tmp/bench/national", help="a contract dataset folder")
    ap.add_argument("--experiment", default=str(ROOT / "experiments" / "iteration-3.toml"))
    ap.add_argument("--as-of", default=None, help="default: the experiment's, else latest+1")
    ap.add_argument("--max-snapshots", type=int, default=None)
    ap.add_argument("--negative-sample", type=float, default=None)
    ap.add_argument("--memory-limit", default=None, help="e.g. 16G (RISKCOHORT_MEMORY_LIMIT)")
    ap.add_argument("--chunk", type=int, default=200_000, help="rows per SHAP chunk")
    ap.add_argument("--row-budget", type=int, default=None,
                    help="training rows budget (default trainset.ROW_BUDGET)")
    ap.add_argument("--validation-budget", type=int, default=None,
                    help="validation rows kept whole (default trainset.VALIDATION_ROW_BUDGET); "
                         "set it low to exercise the sampled-validation path on force data")
    ap.add_argument("--float64-max-rows", type=int, default=None,
                    help="largest float64 training matrix (default trainset.FLOAT64_MAX_ROWS)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"no dataset at {args.data}; make one with: riskcohort simulate --out {args.data} "
              "--preset national --seed 0", file=sys.stderr)
        return 2
    if args.memory_limit:
        os.environ["RISKCOHORT_MEMORY_LIMIT"] = args.memory_limit
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import numpy as np
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.errors import UserError
    from riskcohort.modelling import training, trainset
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import (
        _build,
        default_as_of,
        score_frame,
        training_snapshots,
    )
    from riskcohort.modelling.manifest import monotone_for

    results: list[dict] = []
    if args.validation_budget is not None:
        trainset.VALIDATION_ROW_BUDGET = args.validation_budget
    if args.float64_max_rows is not None:
        trainset.FLOAT64_MAX_ROWS = args.float64_max_rows
    cfg = load_experiment(args.experiment, data=args.data)
    changes = {k: v for k, v in (("max_snapshots", args.max_snapshots),
                                 ("negative_sample", args.negative_sample)) if v is not None}
    cfg = dataclasses.replace(cfg, **changes)
    print(f"dataset {args.data}; {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / GIB:.1f} GB RAM; max_snapshots "
          f"{cfg.max_snapshots}, negative_sample {cfg.negative_sample}", flush=True)
    try:
        with Stage("load+validate", results):
            dataset = load_dataset(args.data)
        print(f"  dataset held: RSS {psutil.Process().memory_info().rss / GIB:.2f} GB",
              flush=True)
        as_of = pd.Timestamp(args.as_of or cfg.as_of or default_as_of(dataset.tables)).date()
        snaps = training_snapshots(cfg, dataset.tables, as_of)
        with Stage("training features", results):
            tset = trainset.build_training_set(dataset, cfg, snaps, known_by=as_of,
                                               row_budget=args.row_budget)
        print("  " + tset.plan.line(), flush=True)
        print(f"  kept {len(tset.keys):,} of {tset.rows_before_sampling:,} rows "
              f"({int(tset.keys[training.LABEL].sum()):,} positives), matrix "
              f"{tset.X.dtype} {tset.X.nbytes / GIB:.2f} GB, keys "
              f"{tset.keys.memory_usage(deep=True).sum() / GIB:.2f} GB; plan "
              f"{json.dumps(tset.plan.as_dict())}", flush=True)
        with Stage("fit", results):
            cols = list(tset.features)
            model, _info = training.fit(
                tset.keys, cols, cfg.model_spec, horizon_days=cfg.horizon_days, seed=cfg.seed,
                negative_sample=cfg.negative_sample, n_folds=cfg.cv_folds,
                block=cfg.cv_block_months, min_train=cfg.min_train_snapshots,
                calibration=cfg.calibration, monotone=monotone_for(cols, cfg.model_spec),
                sample_weight=tset.weights, matrix=(tset.X, tset.features))
            del tset
        print(f"  chose {model.selection_['hyperparameters']}; calibration "
              f"{model.calibrator_['method']}", flush=True)
        with Stage("scoring", results):
            now = _build(dataset, cfg, [as_of], False)
            scores = score_frame(model, now, cfg.k, cfg.bands)
        print(f"  scored {len(scores):,} people at {as_of}", flush=True)
        with Stage("explain", results):
            names = list(model.feature_names_in_)
            total = 0.0
            for start in range(0, len(now), args.chunk):
                X = now.iloc[start:start + args.chunk].reindex(columns=names)
                contrib = model.booster_.predict(X.to_numpy(np.float64), pred_contrib=True)
                total += float(np.abs(contrib).sum())
    except UserError as exc:
        print(f"stopped: {exc}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
