"""Benchmark of the point-in-time indicator pipeline (prints figures; not a test).

Side by side on the ``force`` preset with 36 monthly snapshots:
  * ``pipeline``     riskcohort.features.build (all indicators, DuckDB, one pass);
  * ``pandas``       a plain pandas loop over snapshots computing 12 representative indicators
                     (also a correctness cross-check: values must equal the pipeline's);
  * ``featuretools`` deep feature synthesis with cutoff times on the same 12 (run from a separate
                     venv because featuretools/woodwork do not support pandas 3; pass
                     ``--ft-python /path/to/python``), windows on ``recorded_at`` (its time index);
and one snapshot of the ``national`` preset (time, peak memory) from ``--national DIR`` if given,
else of a national-size stand-in (the force data copied 18 times with suffixed ids: simulating
the national preset takes hours on 2 cores).
Each engine runs in its own process so peak RSS (``ru_maxrss``) is its own; the pipeline's
``peak_mb`` is read right after ``build`` (loading + validation + indicators: the national target
is < 8 GB), ``evidence_peak_mb`` after the evidence calls that follow (their per-dataset index
comes on top). Target: the pipeline under 60 s for 36 snapshots of ``force`` on 2 cores; evidence
for one person under 200 ms.

    .venv/bin/python benchmarks/bench_features.py --data /tmp/featbench/force \\
        [--ft-python /tmp/ftvenv/bin/python] [--national /tmp/featbench/national]

The featuretools mode imports neither riskcohort nor pandas 3 (it reads the Parquet files).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TWELVE = [
    "days_since_last_da", "da_count_90d", "da_count_365d", "da_count_3y", "violence_count_3y",
    "harm_365d", "gravity_max_3y", "distinct_victims_3y", "strangulation_count",
    "breach_count_365d", "dash_high_12m", "days_since_last_high_grade",
]
# Approximate CHI weights: copied for the featuretools process (which cannot import riskcohort);
# the pandas engine uses riskcohort.contract.harm.HARM_WEIGHTS and the cross-check catches drift.
FT_HARM = {
    "homicide": 5475.0, "attempted_murder": 3650.0, "gbh_with_intent": 1460.0, "gbh": 547.0,
    "strangulation": 547.0, "sexual_offence": 1460.0, "threats_to_kill": 365.0,
    "coercive_control": 365.0, "stalking": 365.0, "abh": 182.0, "weapons_possession": 182.0,
    "harassment": 84.0, "breach_of_order": 84.0, "common_assault": 10.0, "theft": 7.0,
    "criminal_damage": 5.0, "public_order": 5.0, "drugs": 2.0, "other": 5.0, "non_crime": 0.0,
}


# featuretools' equivalents of the 12 (windows on its time index, recorded_at; "crimes" are all
# incidents: it has no "not equal" interesting value), by training window.
FT_FEATURES = {
    None: ["TIME_SINCE_LAST(incidents.recorded_at WHERE domestic = True)",
           "COUNT(incidents WHERE offence = strangulation)",
           "TIME_SINCE_LAST(assessments.assessed_at WHERE high = True)"],
    "90 days": ["COUNT(incidents WHERE domestic = True)"],
    "365 days": ["COUNT(incidents WHERE domestic = True)",
                 "SUM(incidents.harm WHERE domestic = True)",
                 "COUNT(incidents WHERE offence = breach_of_order)",
                 "COUNT(assessments WHERE high = True)"],
    "1095 days": ["COUNT(incidents WHERE domestic = True)", "COUNT(incidents)",
                  "MAX(incidents.harm WHERE domestic = True)",
                  "NUM_UNIQUE(incidents.victim_id WHERE domestic = True)"],
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_s() -> float:
    """CPU seconds of this process, all threads (the machine may be shared: wall time is not)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    w, c = time.perf_counter(), cpu_s()
    out = fn()
    return out, time.perf_counter() - w, cpu_s() - c


def monthly_dates(data_dir: Path, n: int) -> list[str]:
    import pandas as pd

    inc = pd.read_parquet(data_dir / "incidents.parquet", columns=["recorded_at"])
    last = pd.Timestamp(inc["recorded_at"].max()).to_period("M").to_timestamp()
    return [str(d.date()) for d in pd.date_range(end=last, periods=n, freq="MS")]


# --- engines (each runs in a child process) --------------------------------------------------

def run_pipeline(data_dir, dates, out):
    from riskcohort.contract import load_dataset
    from riskcohort.features import build, evidence

    data, load_s, _ = timed(lambda: load_dataset(data_dir))
    frame, seconds, cpu = timed(lambda: build(data, dates))
    built_peak = peak_mb()  # the process peak of loading + validating + building
    frame[["person_id", "as_of", *TWELVE]].to_parquet(out)
    rows, columns = len(frame), frame.shape[1] - 2
    # only the two columns needed (a row filter of the whole frame copies all 65 columns)
    last = frame.loc[frame["as_of"] == frame["as_of"].max(), ["person_id", "harm_3y"]]
    del frame  # evidence reads the dataset, not the indicators
    heavy = list(last.sort_values("harm_3y")["person_id"].iloc[-5:])
    sample = list(last["person_id"].sample(min(20, len(last)), random_state=0))
    ev = [timed(lambda p=p: evidence(data, p, dates[-1]))[1:] for p in sample + heavy]
    wall = sorted(w for w, _ in ev[: len(sample)])
    cpus = sorted(c for _, c in ev[: len(sample)])
    return dict(seconds=seconds, cpu_seconds=cpu, load_seconds=load_s, rows=rows,
                columns=columns, peak_mb=built_peak, evidence_peak_mb=peak_mb(),
                evidence_ms_median=1000 * wall[len(wall) // 2],
                evidence_cpu_ms_median=1000 * cpus[len(cpus) // 2],
                evidence_ms_heaviest=1000 * max(w for w, _ in ev[len(sample):]),
                evidence_cpu_ms_heaviest=1000 * max(c for _, c in ev[len(sample):]))


def run_pandas(data_dir, dates, out):
    """The obvious pandas approach: for each snapshot, filter known records and group by person."""
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.contract.harm import HARM_WEIGHTS
    from riskcohort.features.defs.history import VIOLENCE

    t = load_dataset(data_dir).tables
    t0, c0 = time.perf_counter(), cpu_s()
    inc = t["incidents"].assign(
        harm=lambda d: d["offence"].map(HARM_WEIGHTS).astype(float),
        dom=lambda d: d["domestic"].fillna(False).astype(bool),
    )
    ra = t["risk_assessments"]
    persons = t["persons"].set_index("person_id")
    frames = []
    for day in pd.to_datetime(dates):
        known = inc[inc["recorded_at"] < day]
        da = known[known["dom"]]
        pop = da.loc[da["recorded_at"] >= day - pd.Timedelta(days=1825), "perpetrator_id"].unique()
        death = persons["death_date"].reindex(pop)
        pop = pd.Index(pop[(death.isna() | (death > day)).to_numpy()], name="person_id")
        g = da.groupby("perpetrator_id")

        def since(days, frame=da, day=day):
            return frame[frame["occurred_at"] >= day - pd.Timedelta(days=days)]

        f = pd.DataFrame(index=pop)
        f["days_since_last_da"] = (day - g["occurred_at"].max()).dt.total_seconds() / 86400
        for name, days in (("da_count_90d", 90), ("da_count_365d", 365), ("da_count_3y", 1095)):
            f[name] = since(days).groupby("perpetrator_id").size()
        violent = known[known["offence"].isin(VIOLENCE)
                        & (known["occurred_at"] >= day - pd.Timedelta(days=1095))]
        f["violence_count_3y"] = violent.groupby("perpetrator_id").size()
        f["harm_365d"] = since(365).groupby("perpetrator_id")["harm"].sum()
        f["gravity_max_3y"] = since(1095).groupby("perpetrator_id")["harm"].max()
        f["distinct_victims_3y"] = since(1095).groupby("perpetrator_id")["victim_id"].nunique()
        f["strangulation_count"] = (
            known[known["offence"] == "strangulation"].groupby("perpetrator_id").size())
        br = known[(known["offence"] == "breach_of_order")
                   & (known["occurred_at"] >= day - pd.Timedelta(days=365))]
        f["breach_count_365d"] = br.groupby("perpetrator_id").size()
        high = ra[(ra["assessed_at"] < day) & (ra["grade"] == "high")]
        f["dash_high_12m"] = (high[high["assessed_at"] >= day - pd.Timedelta(days=365)]
                              .groupby("perpetrator_id").size())
        f["days_since_last_high_grade"] = (
            (day - high.groupby("perpetrator_id")["assessed_at"].max()).dt.total_seconds() / 86400)
        counts = [c for c in TWELVE if not c.startswith("days_since")]
        f[counts] = f[counts].fillna(0.0)
        frames.append(f.reset_index().assign(as_of=day))
    frame = pd.concat(frames, ignore_index=True)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    frame[["person_id", "as_of", *TWELVE]].astype({c: float for c in TWELVE}).to_parquet(out)
    return dict(seconds=seconds, cpu_seconds=cpu, rows=len(frame), columns=len(TWELVE))


def run_featuretools(data_dir, dates, out):
    """DFS with cutoff times; runs under a separate interpreter with featuretools installed."""
    import featuretools as ft
    import pandas as pd

    pop = pd.read_parquet(Path(out).with_suffix(".cutoff.parquet"))
    t0, c0 = time.perf_counter(), cpu_s()
    # raw files carry the generator's injected defects (duplicate keys...) that the contract
    # loader quarantines; drop them the simple way here
    inc = pd.read_parquet(data_dir / "incidents.parquet").drop_duplicates("incident_id")
    inc["recorded_at"] = pd.to_datetime(inc["recorded_at"], errors="coerce")
    inc = inc.dropna(subset=["recorded_at", "perpetrator_id"])
    inc["harm"] = inc["offence"].map(FT_HARM).astype(float)
    inc["domestic"] = inc["domestic"].astype(str).str.lower().isin(["true", "1", "yes"])
    ra = pd.read_parquet(data_dir / "risk_assessments.parquet").drop_duplicates("assessment_id")
    ra["assessed_at"] = pd.to_datetime(ra["assessed_at"], errors="coerce")
    ra = ra.dropna(subset=["assessed_at", "perpetrator_id"])
    ra["high"] = ra["grade"] == "high"
    people = pd.DataFrame({"person_id": pd.unique(pop["person_id"])})
    es = ft.EntitySet("force")
    es.add_dataframe(dataframe_name="persons", dataframe=people, index="person_id")
    es.add_dataframe(dataframe_name="incidents",
                     dataframe=inc[["incident_id", "perpetrator_id", "victim_id", "recorded_at",
                                    "offence", "domestic", "harm"]],
                     index="incident_id", time_index="recorded_at",
                     logical_types={"offence": "Categorical", "victim_id": "Categorical"})
    es.add_dataframe(dataframe_name="assessments",
                     dataframe=ra[["assessment_id", "perpetrator_id", "assessed_at", "high"]],
                     index="assessment_id", time_index="assessed_at")
    es.add_relationship("persons", "person_id", "incidents", "perpetrator_id")
    es.add_relationship("persons", "person_id", "assessments", "perpetrator_id")
    es.add_interesting_values(dataframe_name="incidents",
                              values={"domestic": [True],
                                      "offence": ["strangulation", "breach_of_order"]})
    es.add_interesting_values(dataframe_name="assessments", values={"high": [True]})
    cutoff = pop.rename(columns={"as_of": "time"})[["person_id", "time"]]
    parts = []
    for window, names in FT_FEATURES.items():
        every = ft.dfs(entityset=es, target_dataframe_name="persons", features_only=True,
                       agg_primitives=["count", "sum", "max", "num_unique", "time_since_last"],
                       where_primitives=["count", "sum", "max", "num_unique", "time_since_last"],
                       trans_primitives=[], max_depth=1)
        chosen = [f for f in every if f.get_name() in names]
        fm = ft.calculate_feature_matrix(chosen, entityset=es, cutoff_time=cutoff,
                                         training_window=window, cutoff_time_in_index=True)
        parts.append(fm.add_suffix(f"@{window}"))
    frame = pd.concat(parts, axis=1)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    frame.reset_index().to_parquet(out)
    return dict(seconds=seconds, cpu_seconds=cpu, rows=len(frame), columns=frame.shape[1])


def run_tiled(data_dir, dates, out, tile=18):
    """National-scale stand-in: the force dataset copied ``tile`` times with suffixed ids
    (480k / 26k new perpetrators a year is about 18 forces), one snapshot."""
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.contract.schema import TABLES
    from riskcohort.features import build

    tables = load_dataset(data_dir).tables
    big = {}
    for name, frame in tables.items():
        ids = [c.name for c in TABLES[name].columns if c.type == "id"]
        copies = []
        for k in range(tile):
            copy = frame.copy()
            for col in ids:
                copy[col] = copy[col].where(copy[col].isna(), copy[col] + f"~{k}")
            copies.append(copy)
        big[name] = pd.concat(copies, ignore_index=True)
    del tables
    frame, seconds, cpu = timed(lambda: build(big, dates))
    return dict(seconds=seconds, cpu_seconds=cpu, rows=len(frame), columns=frame.shape[1] - 2,
                incidents=len(big["incidents"]))


ENGINES = {"pipeline": run_pipeline, "pandas": run_pandas, "featuretools": run_featuretools,
           "tiled": run_tiled}


def child(args) -> None:
    out = ENGINES[args.engine](Path(args.data), args.dates, args.out)
    out.setdefault("peak_mb", peak_mb())  # whole process unless the engine measured it
    print("RESULT " + json.dumps(out))


def spawn(python, engine, data, dates, out) -> dict:
    cmd = [python, __file__, "--engine", engine, "--data", str(data), "--out", str(out),
           "--dates", *dates]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail) or f"exit {proc.returncode}"}


def compare(a: Path, b: Path) -> str:
    import numpy as np
    import pandas as pd

    x = pd.read_parquet(a).sort_values(["as_of", "person_id"]).reset_index(drop=True)
    y = pd.read_parquet(b).sort_values(["as_of", "person_id"]).reset_index(drop=True)
    if len(x) != len(y) or not (x["person_id"] == y["person_id"]).all():
        # the pipeline also scores people whose lookback is extended by custody (contract v1.1);
        # the plain pandas loop does not: compare on the rows both have
        keys = ["as_of", "person_id"]
        note = f"population {len(x)} vs {len(y)} rows (custody-extended lookback); "
        both = x.merge(y[keys], on=keys).sort_values(keys).reset_index(drop=True)
        y = y.merge(x[keys], on=keys).sort_values(keys).reset_index(drop=True)
        x = both
    else:
        note = ""
    bad = [c for c in TWELVE
           if not np.allclose(x[c].to_numpy(float), y[c].to_numpy(float), equal_nan=True)]
    return note + ("all 12 indicators equal" if not bad else f"differ: {bad}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=sorted(ENGINES))
    ap.add_argument("--data", default="/tmp/featbench/force")
    ap.add_argument("--out")
    ap.add_argument("--dates", nargs="*")
    ap.add_argument("--snapshots", type=int, default=36)
    ap.add_argument("--ft-python", default="/tmp/ftvenv/bin/python")
    ap.add_argument("--ft-snapshots", type=int, default=3,
                    help="featuretools runs on the last N snapshots and is scaled to all")
    ap.add_argument("--national")
    ap.add_argument("--work", default="/tmp/featbench/out")
    args = ap.parse_args()
    if args.engine:
        return child(args)
    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not (data / "incidents.parquet").exists():
        sys.exit(f"no dataset at {data}: run `riskcohort simulate --out {data} --preset force`")
    dates = monthly_dates(data, args.snapshots)
    print(f"force preset at {data}: {len(dates)} monthly snapshots {dates[0]} .. {dates[-1]}")
    results = {}
    for engine in ("pipeline", "pandas"):
        results[engine] = spawn(sys.executable, engine, data, dates, work / f"{engine}.parquet")
    ft_dates = dates[-args.ft_snapshots:]
    if "error" not in results["pipeline"]:
        import pandas as pd

        pop = pd.read_parquet(work / "pipeline.parquet", columns=["person_id", "as_of"])
        pop = pop[pop["as_of"].isin(pd.to_datetime(ft_dates))]
        pop.to_parquet(work / "featuretools.cutoff.parquet")
    if Path(args.ft_python).exists():
        print("featuretools: separate venv (woodwork needs pandas < 3), DFS with cutoff times")
        r = spawn(args.ft_python, "featuretools", data, ft_dates, work / "featuretools.parquet")
        if "error" not in r and len(ft_dates) < len(dates):  # too slow for all: extrapolate
            scale = len(dates) / len(ft_dates)
            print(f"featuretools measured on {len(ft_dates)} snapshots ({r['seconds']:.0f} s "
                  f"wall, {r['cpu_seconds']:.0f} s CPU, {r['rows']} rows); scaled x{scale:.0f}")
            r = {**r, "seconds": r["seconds"] * scale, "cpu_seconds": r["cpu_seconds"] * scale,
                 "rows": int(r["rows"] * scale), "columns": f"{r['columns']}*"}
        results["featuretools"] = r
    else:
        results["featuretools"] = {"error": f"no interpreter at {args.ft_python} (featuretools "
                                            "needs pandas < 3: install it in a separate venv)"}
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'engine':<14}{'indicators':>11}{'rows':>10}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}")
    for engine, r in results.items():
        if "error" in r:
            print(f"{engine:<14} failed: {r['error']}")
            continue
        print(f"{engine:<14}{r['columns']:>11}{r['rows']:>10}{r['seconds']:>9.1f}"
              f"{r['cpu_seconds']:>9.1f}{r['peak_mb']:>9.0f}")
    p = results["pipeline"]
    if "error" not in p:
        print(f"pipeline: dataset load+validation {p['load_seconds']:.1f} s (not included); "
              f"target < 60 s wall: {'met' if p['seconds'] < 60 else 'NOT met'}")
        print(f"evidence, one person (target < 200 ms): median of 20 random "
              f"{p['evidence_ms_median']:.0f} ms wall / {p['evidence_cpu_ms_median']:.0f} ms CPU;"
              f" heaviest of 5 most harmful {p['evidence_ms_heaviest']:.0f} ms wall / "
              f"{p['evidence_cpu_ms_heaviest']:.0f} ms CPU")
        if "error" not in results["pandas"]:
            ratio = results["pandas"]["seconds"] / p["seconds"]
            print(f"pandas / pipeline time: {ratio:.1f}x ({len(TWELVE)} vs {p['columns']} "
                  f"indicators); cross-check: "
                  f"{compare(work / 'pipeline.parquet', work / 'pandas.parquet')}")
    if args.national and (Path(args.national) / "incidents.parquet").exists():
        nat = Path(args.national)
        r = spawn(sys.executable, "pipeline", nat, monthly_dates(nat, 1)[-1:],
                  work / "national.parquet")
        label = "national preset"
    else:  # the national preset takes hours to simulate on 2 cores: use the tiled stand-in
        r = spawn(sys.executable, "tiled", data, dates[-1:], work / "national.parquet")
        label = "national stand-in (force x18, ids suffixed)"
        if "incidents" in r:
            label += f", {r['incidents']} incidents"
    print(f"{label}, 1 snapshot: " + (f"failed: {r['error']}" if "error" in r else
          f"{r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU, "
          f"peak {r['peak_mb']:.0f} MB (with the evidence calls after it "
          f"{r.get('evidence_peak_mb', r['peak_mb']):.0f} MB), {r['rows']} rows"))


if __name__ == "__main__":
    main()
