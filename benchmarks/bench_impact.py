"""Benchmark: ``riskcohort impact`` on twin forces (a team with a real effect vs a placebo team).

Judged on intervals: on the placebo force (``--intervention-effect 0``) the 95% interval must
cover 1; on the force where management removes half the serious-harm hazard while managed
(``--intervention-effect 0.5``) the interval should lie below 1. Each force is simulated once
(same seed for the twins, so the worlds differ only by the effect) and kept under ``--out``.
Usage::

    .venv/bin/python benchmarks/bench_impact.py [--preset force] [--managed 150]
        [--seeds 0,1] [--effects 0.5,0] [--scenario default] [--from 2022-07-01]
        [--to 2024-06-30] [--out /tmp/bench] [--snapshot-cache DIR] [--recalibrate off,on]
        [--months sharp|all]

``--snapshot-cache DIR``: reuse ``DIR/<force>.snap.parquet`` (the point-in-time snapshot
``impact`` builds, saved by an earlier run with the same code) to skip rebuilding features; the
estimate is otherwise unchanged. ``--recalibrate off,on`` measures each force with the
prognostic recalibration off and on (default: the engine's default only). Each row also
prints the built-in falsification (fake cut-off), the ranking used and how many of the team's
picks it reproduces, the months kept (``--months sharp``, the default: the months whose
ranking reproduces at least 80% of their picks) and the estimate on all months beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="force")
    ap.add_argument("--managed", type=int, default=150)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--effects", default="0.5,0")
    ap.add_argument("--from", dest="date_from", default="2022-07-01")
    ap.add_argument("--to", dest="date_to", default="2024-06-30")
    ap.add_argument("--out", default="/tmp/bench_impact")
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--snapshot-cache", default=None)
    ap.add_argument("--recalibrate", default="default",
                    help="comma-separated settings to measure: default, on, off")
    ap.add_argument("--months", default="sharp", help="sharp (default) or all")
    a = ap.parse_args()
    from riskcohort.impact import estimate, estimate_impact
    from riskcohort.simulate import simulate

    build = estimate._snapshot

    rows = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        for effect in [float(e) for e in a.effects.split(",")]:
            tag = "" if a.scenario == "default" else f"_{a.scenario}"
            data = Path(a.out) / f"{a.preset}{tag}_k{a.managed}_e{effect}_s{seed}"
            if not (data / "_truth" / "summary.json").is_file():
                simulate(data, preset=a.preset, seed=seed, managed=a.managed,
                         intervention_effect=effect, scenario=a.scenario)
            cache = Path(a.snapshot_cache) / f"{data.name}.snap.parquet" \
                if a.snapshot_cache else None

            def snapshot(ds, months, cache=cache):
                if cache is not None and cache.is_file():
                    snap = pd.read_parquet(cache)
                    snap = snap.loc[snap["as_of"].isin(months)].reset_index(drop=True)
                    if snap["as_of"].nunique() == len(months):
                        return snap
                snap = build(ds, months)
                if cache is not None:
                    snap.to_parquet(cache)
                return snap

            estimate._snapshot = snapshot
            for setting in a.recalibrate.split(","):
                t0 = time.perf_counter()
                kw = {} if setting == "default" else {"recalibrate": setting == "on"}
                kw["months"] = a.months
                r = estimate_impact(data, a.date_from, a.date_to, **kw)
                sec = time.perf_counter() - t0
                suffix = "" if setting == "default" else f".recalibrate_{setting}"
                (data.parent / f"{data.name}{suffix}.impact.json").write_text(
                    json.dumps(r, indent=2))
                covers = r["lo"] <= 1 <= r["hi"]
                verdict = ("PASS" if (covers if effect == 0 else r["hi"] < 1) else "FAIL")
                rows.append((seed, effect, setting, r, sec, verdict))
                _line(seed, effect, setting, r, sec, verdict)
    print("| seed | effect | recalibration | months used (kept) | RR (95% interval) | managed / "
          "comparison | events | all months | fake cut-off | unadjusted | naive RR | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for seed, effect, setting, r, _sec, verdict in rows:
        f = r["checks"]["fake_cutoff"]
        u, am = r["months_used"], r["checks"]["all_months"]
        print(f"| {seed} | {effect} | {setting} | {u['used']} ({len(u['kept'])} of "
              f"{len(r['months'])}) | {r['relative_risk']:.2f} ({r['lo']:.2f}-"
              f"{r['hi']:.2f}) | {r['n_managed']} / {r['n_comparison']} | {r['events_managed']}"
              f" / {r['events_comparison']} | {am['relative_risk']:.2f} ({am['lo']:.2f}-"
              f"{am['hi']:.2f}) | {f['relative_risk']:.2f} ({f['lo']:.2f}-"
              f"{f['hi']:.2f}) | {r['relative_risk_unadjusted']:.2f} | "
              f"{r['naive_contrast']['relative_risk']:.2f} | {verdict} |")


def _line(seed, effect, setting, r, sec, verdict) -> None:
    print(f"seed {seed} effect {effect} recalibration {setting}: RR {r['relative_risk']} "
          f"({r['lo']}-{r['hi']}) managed {r['n_managed']} comparison {r['n_comparison']} "
          f"events {r['events_managed']}/{r['events_comparison']} naive "
          f"{r['naive_contrast']['relative_risk']} later-managed "
          f"{r['comparison_managed_later_share']} {sec:.0f}s {verdict}; ranking "
          f"{r['selection']['score']} agreement {r['selection']['agreement']}; months "
          f"{r['months_used']}; by month {r['selection']['by_month']}; all months "
          f"{r['checks']['all_months']}; fake "
          f"cut-off {r['checks']['fake_cutoff']}; RD {r['checks']['rd_local_linear']}; "
          f"recalibration {r['prognostic_recalibration']}", flush=True)


if __name__ == "__main__":
    main()
