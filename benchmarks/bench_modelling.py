"""Benchmark the modelling stage on the ``force`` preset (2 cores).

Targets: training + calibration + scoring with 36 monthly snapshots under 5 minutes (300 s);
scoring 100,000 people (margin, calibration, rank, bands) under 10 s. Feature building
(the features stage) and the bootstrap evaluation are timed and printed separately, so the
modelling figure is not hidden inside them.

Run: ``.venv/bin/python benchmarks/bench_modelling.py --data work/force [--as-of 2025-07-01]``
(without ``--data`` the force preset is generated into a temporary folder first, which takes a
few minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import riskcohort  # noqa: F401  (offline settings first)

ROOT = Path(__file__).resolve().parents[1]
TRAIN_TARGET_S, SCORE_TARGET_S = 300.0, 10.0


_cpu = [time.process_time()]


def _line(label: str, seconds: float, target: float | None = None) -> None:
    """Wall seconds (and CPU seconds of this process since the previous line: on a shared
    machine the wall figure alone says more about the neighbours than about the code)."""
    cpu, _cpu[0] = time.process_time() - _cpu[0], time.process_time()
    extra = f"  (target {target:.0f} s, ratio {seconds / target:.2f})" if target else ""
    print(f"{label:<56} {seconds:8.1f} s wall {cpu:8.1f} s cpu{extra}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--as-of", default="2025-07-01")
    ap.add_argument("--experiment", type=Path, default=ROOT / "experiments/iteration-3.toml")
    ap.add_argument("--score-people", type=int, default=100_000)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.modelling import training
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import _build, score_frame, training_snapshots
    from riskcohort.modelling.manifest import monotone_for
    from riskcohort.modelling.metrics import evaluate

    data = args.data
    if data is None:
        from riskcohort.simulate.api import simulate

        data = Path(tempfile.mkdtemp()) / "force"
        t = time.perf_counter()
        simulate(data, preset="force", seed=0)
        _line("simulate force preset", time.perf_counter() - t)
    cfg = load_experiment(args.experiment, data=data, as_of=args.as_of)
    t = time.perf_counter()
    ds = load_dataset(cfg.data_dir)
    _line("load_dataset", time.perf_counter() - t)
    snaps = training_snapshots(cfg, ds.tables, cfg.as_of)
    t = time.perf_counter()
    train = _build(ds, cfg, snaps, labels=True, known_by=cfg.as_of)
    _line(f"features.build {len(snaps)} snapshots, {len(train):,} rows", time.perf_counter() - t)
    now = _build(ds, cfg, [cfg.as_of], labels=True)

    t0 = time.perf_counter()
    _cpu[0] = time.process_time()
    cols = training.feature_columns(train, cfg.exclude_features)
    model, info = training.fit(
        train, cols, cfg.model_spec, horizon_days=cfg.horizon_days, seed=cfg.seed,
        negative_sample=cfg.negative_sample, n_folds=cfg.cv_folds, block=cfg.cv_block_months,
        min_train=cfg.min_train_snapshots, calibration=cfg.calibration,
        monotone=monotone_for(cols, cfg.model_spec))
    scores = score_frame(model, now, cfg.k, cfg.bands)
    _line(f"train+calibrate+score ({info['hyperparameters']['num_boost_round']} rounds, "
          f"{len(info['search'])} trials)", time.perf_counter() - t0, TRAIN_TARGET_S)

    reps = int(np.ceil(args.score_people / len(now)))
    big = pd.concat([now] * reps, ignore_index=True).iloc[: args.score_people]
    big["person_id"] = [f"x{i}" for i in range(len(big))]
    t = time.perf_counter()
    _cpu[0] = time.process_time()
    score_frame(model, big, cfg.k, cfg.bands)
    _line(f"score {len(big):,} people", time.perf_counter() - t, SCORE_TARGET_S)

    t = time.perf_counter()
    y = now["serious_harm"].to_numpy()
    evaluate(y, now["harm_weight"], now["homicide"], {"model": scores["score"].to_numpy(),
             "rule": now["da_count_3y"].to_numpy()}, n_boot=cfg.n_boot,
             tiebreak={"model": scores["_margin"].to_numpy()})
    _line(f"evaluate {len(now):,} people, 2 scores, {cfg.n_boot} resamples",
          time.perf_counter() - t)


if __name__ == "__main__":
    main()
