"""Peak memory of ``training.fit`` on a synthetic float32 training matrix (prints figures; not a
test).

Why a synthetic set: the fit's memory depends on the matrix's shape, not on what the indicators
mean, and a national-sized matrix can be measured this way without hours of feature building.
It is handed over as ``riskcohort run`` hands over ``TrainingSet.X`` (``matrix=(X, names)``):
36 monthly snapshots sorted by date, integer-valued float32 indicators with some NaN, ~1%
positives, negatives weighted 5, rolling-origin folds, a small search, the interval members.

    nice .venv/bin/python benchmarks/bench_fit_memory.py --rows 2000000 --cols 114

Prints the matrix and keys size, the RSS before the fit, the peak RSS during it (sampled every
0.05 s) and the bytes per matrix value the fit adds (the memory plan assumes
``trainset._FIT_BYTES_PER_VALUE``).
"""

from __future__ import annotations

import argparse
import resource
import threading
import time

import numpy as np
import pandas as pd
import psutil

GIB = 1024 ** 3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--cols", type=int, default=114)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)

    from riskcohort.modelling import training

    rng = np.random.default_rng(0)
    snaps = pd.date_range("2021-01-01", periods=36, freq="MS")
    per = args.rows // 36
    n, p = per * 36, args.cols
    X = np.empty((n, p), dtype=np.float32)
    for j in range(p):
        X[:, j] = rng.integers(0, 50, n)
    X[rng.random(n) < 0.1, min(5, p - 1)] = np.nan
    risk = X[:, 0] / 50 + X[:, min(1, p - 1)] / 50
    y = (rng.random(n) < 0.004 * np.exp(2 * risk)).astype(int)
    keys = pd.DataFrame({"person_id": np.char.add("P", (np.arange(n) % per).astype(str)),
                         "as_of": np.repeat(snaps.values, per), "serious_harm": y})
    w = np.where(y == 1, 1.0, 5.0)
    names = [f"f{i}" for i in range(p)]
    base = psutil.Process().memory_info().rss
    peak = [base]
    stop = threading.Event()

    def watch():
        proc = psutil.Process()
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    spec = {"fixed": {"num_threads": 2, "max_rounds": args.rounds, "early_stopping_rounds": 5,
                      "max_bin": 63, "learning_rate": 0.1},
            "search": {"n_trials": args.trials, "num_leaves": [15, 7],
                       "min_child_samples": [200]}}
    t0, c0 = time.perf_counter(), time.process_time()
    training.fit(keys, names, spec, horizon_days=365, seed=1, negative_sample=0.2, n_folds=3,
                 block=2, min_train=3, sample_weight=w, matrix=(X, names))
    stop.set()
    thread.join()
    extra = peak[0] - base
    print(f"rows {n:,} cols {p} matrix {X.nbytes / GIB:.2f} GB keys "
          f"{keys.memory_usage(deep=True).sum() / GIB:.2f} GB; RSS before fit {base / GIB:.2f} "
          f"GB, peak during fit {peak[0] / GIB:.2f} GB (+{extra / GIB:.2f} GB = "
          f"{extra / (n * p):.2f} bytes per value); process max "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GB; "
          f"wall {time.perf_counter() - t0:.0f} s, CPU {time.process_time() - c0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
