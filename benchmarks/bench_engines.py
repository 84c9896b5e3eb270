"""Benchmark: the features stage on DuckDB vs Spark ``local[2]``, side by side (not a test).

For each dataset given (``--data NAME=DIR``, e.g. the ``small`` and ``force`` presets) and each
engine, one fresh process loads the dataset and builds the indicators (with labels) for
``--snapshots`` monthly as-of dates ending at ``--last``; the figures are:

* ``features_s``: wall time of ``features.build`` alone (Spark: after the JVM is up);
* ``start_s``: Spark's JVM start (0 for DuckDB);
* ``cpu_s``: CPU of the whole process tree over its life (Python + JVM + Python workers);
* ``peak_gb``: peak resident memory of the process tree (sampled every 0.2 s: the driver, the
  JVM and its Python workers together; for DuckDB the one process);
* ``rows``: rows built (the two engines must agree; the tests check the values).

Each measurement runs in its own process so one engine's memory is never counted for the other.
Run it under the team lock (it is a heavy job):

    flock /tmp/team/heavy.lock nice -n 10 .venv/bin/python benchmarks/bench_engines.py \\
        --data small=/tmp/S2/small --data force=/tmp/coord/force --snapshots 12

``--json FILE`` also writes the rows. Figures and their reading: docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ENGINES = ("duckdb", "spark")


def one(engine: str, data: str, snapshots: int, last: str, master: str) -> dict:
    """Child process: load, (start Spark), build; CPU of this process and its reaped children."""
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.features.engine import build

    dataset = load_dataset(data)
    dates = list(pd.date_range(end=pd.Timestamp(last), periods=snapshots, freq="MS"))
    start = 0.0
    if engine == "spark":
        from riskcohort.spark.session import get_session

        t0 = time.perf_counter()
        get_session(master)
        start = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = build(dataset, dates, labels=True, engine=engine, spark_master=master)
    took = time.perf_counter() - t0
    if engine == "spark":
        from riskcohort.spark.session import stop_session

        stop_session()
        _reap_jvm()
    ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return {"engine": engine, "rows": len(frame), "snapshots": snapshots,
            "features_s": round(took, 1), "start_s": round(start, 1),
            "cpu_s": round(sum(r.ru_utime + r.ru_stime for r in ru), 1)}


def _reap_jvm() -> None:
    """Wait for the JVM to exit so its CPU time is counted in RUSAGE_CHILDREN."""
    from pyspark import SparkContext

    gateway = getattr(SparkContext, "_gateway", None)
    proc = getattr(gateway, "proc", None) if gateway else None
    if gateway is not None:
        gateway.shutdown()
    if proc is not None:
        proc.stdin.close()
        proc.wait(timeout=120)


def measure(engine: str, data: str, args) -> dict:
    """Run :func:`one` in a child; sample the tree's resident memory while it runs."""
    import psutil

    cmd = [sys.executable, __file__, "--one", engine, "--data", f"x={data}",
           "--snapshots", str(args.snapshots), "--last", args.last, "--master", args.master]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    root, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{engine} on {data} failed (exit {child.returncode})")
    row = json.loads(out.strip().splitlines()[-1])
    row.update(total_s=round(time.perf_counter() - t0, 1), peak_gb=round(peak / 1e9, 2))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="NAME=DIR (repeatable)")
    ap.add_argument("--snapshots", type=int, default=12, help="monthly as-of dates")
    ap.add_argument("--last", default="2025-01-01", help="the last as-of date")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--one", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if args.one:
        data = args.data[0].split("=", 1)[1]
        print(json.dumps(one(args.one, data, args.snapshots, args.last, args.master)))
        return
    rows = []
    print(f"features with labels, {args.snapshots} monthly snapshots to {args.last}; "
          f"Spark master {args.master}; {os.cpu_count()} cores")
    print(f"{'data':<8} {'engine':<7} {'rows':>10} {'features s':>11} {'JVM start s':>12} "
          f"{'CPU s':>8} {'peak GB':>8}")
    for spec in args.data:
        name, data = spec.split("=", 1)
        for engine in args.engines.split(","):
            row = {"data": name, **measure(engine, data, args)}
            rows.append(row)
            print(f"{name:<8} {engine:<7} {row['rows']:>10,} {row['features_s']:>11} "
                  f"{row['start_s']:>12} {row['cpu_s']:>8} {row['peak_gb']:>8}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
