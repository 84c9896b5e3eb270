"""Benchmark: time and peak memory of ``simulate`` per preset, and of ``validate`` on force.

Each measurement runs in a child process (``os.wait4`` gives that child's own peak RSS), so
figures do not mix. Usage::

    .venv/bin/python benchmarks/bench_simulate.py [--presets small,demo,force,national]
        [--national-blocks N] [--scenario NAME] [--managed K] [--out /tmp/bench]

``--national-blocks`` simulates only the first N blocks of the national preset (each block is
independent and the same size, so time scales linearly and peak memory is that of one block);
the full national time is then extrapolated and marked as such. ``--scenario`` and
``--managed`` time another mechanism or a managing team (e.g. ``--managed 150``). Targets:
small < 30 s; force simulate < 2 min and simulate + validate < 5 min on 2 cores; national peak
< 6 GB; scenarios and management within ~10% of the default.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CODE = {
    "simulate": "from riskcohort.simulate import simulate; import sys; "
                "simulate(sys.argv[1], preset=sys.argv[2], max_blocks=int(sys.argv[3]) or None, "
                "scenario=sys.argv[4], managed=int(sys.argv[5]), intervention_effect=0.3)",
    "validate": "from riskcohort.contract import load_dataset; import sys; "
                "load_dataset(sys.argv[1])",
}


def child(kind: str, *args: str) -> tuple[float, float]:
    """Run one measurement in a child process; return (seconds, peak RSS in MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CODE[kind], *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} {args} failed with status {status}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="small,force")
    ap.add_argument("--national-blocks", type=int, default=2)
    ap.add_argument("--out", default="/tmp/riskcohort-bench")
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--managed", type=int, default=0)
    a = ap.parse_args()
    from riskcohort.simulate.presets import PRESETS

    rows = []
    for name in a.presets.split(","):
        out = Path(a.out) / name
        blocks = a.national_blocks if name == "national" else 0
        sec, mb = child("simulate", str(out), name, str(blocks), a.scenario, str(a.managed))
        note = ""
        if name == "national" and blocks:
            p = PRESETS[name]
            total = -(-p.n_perpetrators // p.block_size)
            note = f"{blocks}/{total} blocks; full run ~{sec * total / blocks / 60:.0f} min"
        label = name + ("" if a.scenario == "default" else f" {a.scenario}") + (
            f" managed {a.managed}" if a.managed else "")
        rows.append((f"simulate {label}", sec, mb, note))
        if name == "force":
            vsec, vmb = child("validate", str(out))
            rows.append(("validate force", vsec, vmb, f"simulate+validate {sec + vsec:.0f} s"))
    print(f"{'step':<36}{'seconds':>10}{'peak MB':>10}  note")
    for step, sec, mb, note in rows:
        print(f"{step:<36}{sec:>10.1f}{mb:>10.0f}  {note}")


if __name__ == "__main__":
    main()
