"""Run every benchmark in sequence and print their figures (``make bench``).

Each ``bench_*.py`` is a standalone script that prints its own figures and ratios side by side;
this runner only sequences them (they compete for the same 2 cores, so never in parallel) and
stops at the first failure with its exit code. ``--only NAME`` runs a subset.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("simulate", "features", "modelling", "explain", "app")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", choices=ORDER, help="benchmark(s) to run")
    args = parser.parse_args()
    for name in args.only or ORDER:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            print(f"== {name}: {script.name} not found", flush=True)
            return 1
        print(f"\n== {name} ({script.name})", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
