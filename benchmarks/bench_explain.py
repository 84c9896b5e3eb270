"""Benchmark the explain stage: a whole run (50,000 people) and one person with evidence.

Targets (2 cores): ``explain_run`` for 50,000 people under 60 s (contributions, long file,
summary, plots); one person's explanation, evidence included, under 200 ms with the run and the
dataset already loaded (as in the app). Prints the figures and the ratio to each target.

With ``--run OUT_DIR`` (a real ``riskcohort run`` folder) the model and indicator rows are the
run's, resampled to 50,000 people, and the evidence figure uses the run's input dataset. Without
it (or with ``--heavy``) a deliberately heavy synthetic model (300 trees x 31 leaves on random
data, every person a distinct profile) is timed. Wall and CPU seconds are both printed: on a
shared machine wall time mostly measures the other processes (the load average is printed).

With ``--evidence-data DATA_DIR`` (a contract dataset folder, e.g. a ``force`` simulation)
``riskcohort.features.evidence`` alone is timed for random scored people on the loaded dataset:
the first call (which prepares the per-dataset person index), then median and p95 of the
following calls, and the same people through the uncached path (a plain dict of the tables,
filtered on every call) with a check that both give identical rows.

Run: ``.venv/bin/python benchmarks/bench_explain.py --run runs/iteration-3-small [--heavy]``;
``.venv/bin/python benchmarks/bench_explain.py --evidence-data /tmp/evforce --as-of 2026-10-01``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import riskcohort  # noqa: F401  (offline settings first)


def _names(p_default: int = 60) -> list[str]:
    try:
        from riskcohort.features.catalogue import load_catalogue

        return [i.name for i in load_catalogue()]
    except Exception:  # noqa: BLE001 - the benchmark still runs without the catalogue
        return [f"indicator_{i:02d}" for i in range(p_default)]


def write_run(root: Path, features, booster, as_of: str, data_dir: str = "") -> Path:
    """Publish a run folder (model, features, sigmoid scores, run.json) for ``features``."""
    import numpy as np

    from riskcohort import runfolder
    from riskcohort.runfolder import layout as L

    names = booster.feature_name()
    writer = runfolder.RunWriter(root, overwrite=True)
    booster.save_model(str(writer.path(L.MODEL_BOOSTER)))
    writer.write_json(L.MODEL_FEATURE_NAMES, names)
    writer.write_json(L.MODEL_CALIBRATOR, {"method": "platt", "a": 1.0, "b": 0.0})
    margin = booster.predict(features[names], raw_score=True, num_threads=2)
    scores = features[["person_id", "as_of"]].copy()
    scores["score"] = 1 / (1 + np.exp(-margin))
    scores["rank"] = scores["score"].rank(ascending=False, method="first").astype(int)
    scores["in_cohort"] = scores["rank"] <= 200
    scores["band"] = np.where(scores["in_cohort"], "high", "standard")
    writer.write_frame(L.SCORES, scores)
    writer.write_frame(L.FEATURES, features)
    rel = os.path.relpath(data_dir, Path(root).absolute()) if data_dir else None
    return writer.publish(runfolder.Manifest(as_of=as_of, data_dir=rel))


def synthetic_run(root: Path, n: int, seed: int = 0) -> Path:
    """A heavy model on random data: 300 trees x 31 leaves over the catalogue's columns."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = _names()
    X = pd.DataFrame(rng.poisson(1.0, (n, len(names))).astype(float), columns=names)
    X = X.mask(rng.random(X.shape) < 0.05)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X.iloc[:, :5].fillna(0).sum(axis=1) - 7)))).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 2, "num_leaves": 31,
              "learning_rate": 0.05, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(X.iloc[:10000], y[:10000]), num_boost_round=300)
    frame = X.assign(person_id=[f"P{i:06d}" for i in range(n)], as_of=pd.Timestamp("2026-01-01"))
    return write_run(root, frame, booster, "2026-01-01")


def resampled_run(root: Path, source: Path, n: int, seed: int = 0) -> Path:
    """A real run's model and indicator rows, resampled (with replacement) to ``n`` people."""
    import lightgbm as lgb
    import pandas as pd

    booster = lgb.Booster(model_file=str(source / "model" / "model.txt"))
    feats = pd.read_parquet(source / "features.parquet")
    frame = feats.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    frame["person_id"] = [f"P{i:06d}" for i in range(n)]
    as_of = str(pd.Timestamp(frame["as_of"].iloc[0]).date())
    return write_run(root, frame, booster, as_of)


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def bench_run(n: int, source: Path | None) -> None:
    import os

    import numpy as np

    from riskcohort.explain import shap_adapter as sa
    from riskcohort.explain.person import explain_person
    from riskcohort.explain.run import explain_run
    from riskcohort.explain.scored import load_scored as load_run

    with tempfile.TemporaryDirectory() as tmp:
        run = resampled_run(Path(tmp), source, n) if source else synthetic_run(Path(tmp), n)
        loaded = load_run(run)
        trees = loaded.booster.num_trees()
        profiles = len(np.unique(sa.split_codes(loaded.booster, loaded.matrix().to_numpy()),
                                 axis=0))
        kind = f"model of {source}" if source else "synthetic heavy model"
        print(f"[{kind}: {trees} trees; {profiles} distinct split profiles among {n} people; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores]")
        start = _clock()
        summary = explain_run(run)
        wall, cpu = _since(start)
        p = len(summary["indicators"])
        print(f"explain_run: {n} people x {p} indicators: wall {wall:.1f} s"
              f" (target 60 s, ratio {wall / 60:.2f}), CPU {cpu:.1f} s; additivity error "
              f"{summary['additivity_max_error']:.1e}")
        start = _clock()
        sa.contributions(loaded.booster, loaded.matrix(), dedupe=False)
        wall, cpu = _since(start)
        print(f"  contributions without profile dedupe: wall {wall:.1f} s, CPU {cpu:.1f} s")
        times = []
        for i in range(0, n, max(n // 20, 1)):
            start = _clock()
            explain_person(loaded, f"P{i:06d}", with_evidence=False)
            times.append(_since(start))
        print(f"explain_person without evidence (run loaded, {n} scored): median wall "
              f"{1000 * statistics.median(t[0] for t in times):.0f} ms, CPU "
              f"{1000 * statistics.median(t[1] for t in times):.0f} ms")


def _spread(times) -> str:
    """``median wall X ms (p95 Y), CPU median Z ms (p95 W)`` of (wall, CPU) pairs."""
    import numpy as np

    wall, cpu = 1000 * np.array(times)[:, 0], 1000 * np.array(times)[:, 1]
    return (f"median wall {np.median(wall):.0f} ms (p95 {np.percentile(wall, 95):.0f}), "
            f"CPU {np.median(cpu):.0f} ms (p95 {np.percentile(cpu, 95):.0f})")


def bench_evidence(source: Path, people: int = 20) -> None:
    """One person with evidence on a real run folder and its input dataset (both loaded once)."""
    from riskcohort.contract import load_dataset
    from riskcohort.explain.person import explain_person
    from riskcohort.explain.scored import load_scored

    run = load_scored(source)
    data = load_dataset(run.data_dir)
    ids = run.features["person_id"].iloc[:: max(len(run.features) // people, 1)].tolist()
    start = _clock()
    explain_person(run, ids[-1], data)  # first call: prepares the dataset's person index
    first = _since(start)
    times, rows = [], []
    for pid in ids[:people]:
        start = _clock()
        exp = explain_person(run, pid, data)
        times.append(_since(start))
        rows.append(sum(len(v) for v in exp.evidence.values()))
    wall = statistics.median(t[0] for t in times)
    print(f"explain_person with evidence ({len(run.features)} scored, {source}): "
          f"{_spread(times)} (target 200 ms, ratio {wall / 0.2:.2f}); first call wall "
          f"{1000 * first[0]:.0f} ms; {statistics.mean(rows):.1f} evidence records per person")


def bench_evidence_calls(data_dir: Path, as_of: str | None, people: int = 20,
                         seed: int = 0) -> None:
    """``features.evidence`` (all indicators) for random scored people of a loaded dataset."""
    import os

    import numpy as np
    import pandas as pd

    from riskcohort import features
    from riskcohort.contract import load_dataset

    data = load_dataset(data_dir)
    when = (pd.Timestamp(as_of) if as_of else
            data.tables["incidents"]["recorded_at"].max().normalize() + pd.Timedelta(days=1))
    scored = features.build(data, [when])["person_id"]
    ids = scored.sample(people + 1, random_state=seed).tolist()
    start = _clock()
    features.evidence(data, ids[0], when)
    first = _since(start)
    cached, times = {}, []
    for pid in ids[1:]:
        start = _clock()
        cached[pid] = features.evidence(data, pid, when)
        times.append(_since(start))
    print(f"[{data_dir}: {len(scored)} scored at {when.date()}; load average "
          f"{os.getloadavg()[0]:.1f}]")
    print(f"features.evidence, dataset loaded: first call wall {1000 * first[0]:.0f} ms "
          f"(CPU {1000 * first[1]:.0f}); then {people} people: {_spread(times)}; "
          f"{np.mean([len(f) for f in cached.values()]):.1f} rows per person")
    raw, times, same = dict(data.tables), [], 0  # a plain dict is never cached
    for pid in ids[1:]:
        start = _clock()
        fresh = features.evidence(raw, pid, when)
        times.append(_since(start))
        same += fresh.equals(cached[pid]) and fresh.dtypes.equals(cached[pid].dtypes)
    print(f"  uncached path (tables filtered every call): {_spread(times)}; identical rows for "
          f"{same} of {people} people")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--run", type=Path, default=None,
                        help="a real run folder: use its model and rows (resampled) and its "
                        "input dataset for the evidence figure")
    parser.add_argument("--heavy", action="store_true",
                        help="also time a synthetic 300-tree x 31-leaf model on random data")
    parser.add_argument("--evidence-data", type=Path, default=None,
                        help="a dataset folder: time features.evidence alone on it")
    parser.add_argument("--as-of", default=None,
                        help="evidence date (default: the day after the latest incident)")
    parser.add_argument("--evidence-people", type=int, default=20)
    args = parser.parse_args()
    if args.evidence_data:
        bench_evidence_calls(args.evidence_data, args.as_of, args.evidence_people)
    if args.run:
        bench_run(args.people, args.run)
        bench_evidence(args.run)
    if args.heavy or not (args.run or args.evidence_data):
        bench_run(args.people, None)


if __name__ == "__main__":
    main()
