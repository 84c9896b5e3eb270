"""Benchmark the explain stage: a whole run (50,000 people) and one person with evidence.

Targets (2 cores): ``explain_run`` for 50,000 people under 60 s (contributions, long file,
summary, plots); one person's explanation, evidence included, under 200 ms with the run and the
dataset already loaded (as in the app). Prints the figures and the ratio to each target.

Part 1 uses a synthetic run folder the size of a force (catalogue indicator names, a booster of
realistic size). Part 2 uses the real pipeline pieces that exist (simulate -> contract ->
features.build/evidence) on the small preset; a missing stage is reported, not faked.

Run: ``.venv/bin/python benchmarks/bench_explain.py [--people 50000] [--skip-evidence]``.
"""

from __future__ import annotations

import argparse
import json
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
    """Write a run folder (model, features, sigmoid scores, run.json) for ``features``."""
    import numpy as np

    names = booster.feature_name()
    (root / "model").mkdir(parents=True, exist_ok=True)
    booster.save_model(str(root / "model" / "model.txt"))
    (root / "model" / "feature_names.json").write_text(json.dumps(names))
    margin = booster.predict(features[names], raw_score=True, num_threads=2)
    scores = features[["person_id", "as_of"]].copy()
    scores["score"] = 1 / (1 + np.exp(-margin))
    scores["rank"] = scores["score"].rank(ascending=False, method="first").astype(int)
    scores["in_cohort"] = scores["rank"] <= 200
    scores["band"] = np.where(scores["in_cohort"], "high", "standard")
    scores.to_csv(root / "scores.csv", index=False)
    features.to_parquet(root / "features.parquet", index=False)
    (root / "run.json").write_text(json.dumps({"as_of": as_of, "data_dir": data_dir}))
    return root


def synthetic_run(root: Path, n: int, seed: int = 0) -> Path:
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


def bench_run(n: int) -> None:
    from riskcohort.explain.person import explain_person
    from riskcohort.explain.run import explain_run
    from riskcohort.explain.runfolder import load_run

    with tempfile.TemporaryDirectory() as tmp:
        run = synthetic_run(Path(tmp), n)
        t0 = time.perf_counter()
        summary = explain_run(run)
        took = time.perf_counter() - t0
        print(f"explain_run: {n} people x {len(summary['indicators'])} indicators in {took:.1f} s "
              f"(target 60 s, ratio {took / 60:.2f}); additivity error "
              f"{summary['additivity_max_error']:.1e}")
        loaded = load_run(run)
        times = []
        for i in range(0, n, max(n // 20, 1)):
            t0 = time.perf_counter()
            explain_person(loaded, f"P{i:06d}", with_evidence=False)
            times.append(time.perf_counter() - t0)
        print(f"explain_person without evidence (run loaded, {n} scored): median "
              f"{1000 * statistics.median(times):.0f} ms, max {1000 * max(times):.0f} ms")


def bench_evidence(people: int = 20) -> None:
    """A real small pipeline: simulate, load, build features, explain with real evidence."""
    import lightgbm as lgb
    import numpy as np

    try:
        from riskcohort import features
        from riskcohort.contract import load_dataset
        from riskcohort.explain.person import explain_person
        from riskcohort.explain.runfolder import load_run
        from riskcohort.simulate import simulate
    except ImportError as exc:
        print(f"evidence benchmark skipped: a stage is missing ({exc})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate(tmp / "data", preset="small", seed=0)
        data = load_dataset(tmp / "data")
        as_of = "2025-06-01"
        feats = features.build(data, [as_of])
        names = [c for c in feats.columns if c not in ("person_id", "as_of")]
        rng = np.random.default_rng(0)
        y = (rng.random(len(feats)) < 0.1).astype(int)
        params = {"objective": "binary", "verbose": -1, "num_threads": 2, "num_leaves": 15}
        booster = lgb.train(params, lgb.Dataset(feats[names], y), num_boost_round=100)
        run = load_run(write_run(tmp / "run", feats, booster, as_of, str(tmp / "data")))
        ids = feats["person_id"].iloc[:: max(len(feats) // people, 1)].tolist()[:people]
        times, rows = [], []
        for pid in ids:
            t0 = time.perf_counter()
            exp = explain_person(run, pid, data)
            times.append(time.perf_counter() - t0)
            rows.append(sum(len(v) for v in exp.evidence.values()))
        med = statistics.median(times)
        print(f"explain_person with evidence ({len(feats)} scored, small preset): median "
              f"{1000 * med:.0f} ms, max {1000 * max(times):.0f} ms (target 200 ms, ratio "
              f"{med / 0.2:.2f}); {statistics.mean(rows):.1f} evidence records per person")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--skip-evidence", action="store_true")
    args = parser.parse_args()
    bench_run(args.people)
    if not args.skip_evidence:
        bench_evidence()


if __name__ == "__main__":
    main()
