"""Benchmark: which treatment-aware training method (``[training] interventions``) ranks best
on forces whose team acts with a known effect (issue 17.3).

Why: once a team manages the people a ranking puts first, the recorded outcomes are outcomes
*with* management; the ranking for the next iteration should still estimate the risk
*without* it. The generator knows that risk (``_truth/risk.parquet``, ``p_serious_harm``: the
probability of recorded serious harm in the 12 months from a month start, computed with no
management), so each method's ranking is judged against it, not against the recorded outcomes
the team changed.

For each seed and effect ``E`` a force is simulated with the CLI (``riskcohort simulate --preset
demo --managed K --intervention-effect E --seed S``). ``K`` defaults to 60: the hidden check's
team manages its top 150 on the ``force`` preset (40,000 perpetrators entering a year); the
``demo`` preset is two-fifths of it (16,000), so 60 keeps the same share of the population
managed and therefore the same pressure on the training outcomes. Then each method trains as
of ``--as-of`` (default 2025-07-01, a full year of outcomes before the records end on
2026-09-30) with ``experiments/iteration-3-demo.toml`` (``interventions`` overridden), through
``modelling.iteration.run_iteration`` (what ``riskcohort run`` computes, without SHAP, MLflow or
a run folder). The four methods of one force share one training set (built once; each method
only changes the weights or adds its column, exactly as in ``run_iteration``).

Judged on the scored population at the as-of date, against the true untreated risk ``p``:

- ``auc_true``: the AUC against the untreated outcome, in expectation (each person counts as a
  positive with weight ``p`` and a negative with weight ``1 - p``), with a 95% interval from a
  person-level (Poisson) bootstrap; ``d_auc_vs_censor``: the paired difference from ``censor``
  on the same resamples.
- ``capture@k`` (k = 100, 200): the expected untreated harm in the model's top k as a share of
  the oracle's (the sum of ``p`` over the model's top k / over the k highest ``p``).
- the same split by management: ``managed`` = under a recorded management period at some time
  in the outcome year after the as-of date (as ``metrics.json["by_management"]``); per group
  ``auc_true`` and ``pred_over_true`` (mean predicted / mean true untreated risk: below 1 means
  the method under-rates the group, the failure a naive model has on managed people).
- ``auc_recorded``: the ordinary AUC on the recorded (with-management) outcomes, for reference.

A placebo force (``E = 0``, same seed) is the control: management changes nothing, so the
methods should agree there (``censor`` and ``ipw`` still drop the managed rows).

Usage (each force is one process; results are cached in ``--out`` and the table is printed
from every cached result)::

    flock /tmp/team/heavy.lock nice -n 10 .venv/bin/python benchmarks/bench_treatment.py \\
        --seeds 0 --effects 0.5 [--scenario default] [--managed 60] [--out /tmp/bench_treatment]
    .venv/bin/python benchmarks/bench_treatment.py --report   # table + JSON only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("censor", "ipw", "feature_fixed", "ignore")
KS = (100, 200)


# ---- the measures ----------------------------------------------------------------------------

def expected_auc(score: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """AUC against outcomes drawn from ``p`` (in expectation), for one or many weight vectors.

    Each person is a positive with weight ``w * p`` and a negative with weight ``w * (1 - p)``;
    a pair tied in score counts a half. ``w``: (n,) or (b, n) bootstrap weights (default 1).
    """
    w = np.ones((1, len(score))) if w is None else np.atleast_2d(w)
    if len(w) > 25:  # bounded memory: 25 resamples at a time
        return np.concatenate([expected_auc(score, p, w[i:i + 25])
                               for i in range(0, len(w), 25)])
    order = np.argsort(score, kind="stable")
    s, p, w = score[order], p[order], w[:, order]
    pos, neg = w * p, w * (1.0 - p)
    # tie groups in sorted order: negatives strictly below, plus half of the tied negatives
    _, start, counts = np.unique(s, return_index=True, return_counts=True)
    grp = np.repeat(np.arange(len(start)), counts)
    neg_grp = np.add.reduceat(neg, start, axis=1)
    below = np.cumsum(neg_grp, axis=1) - neg_grp
    num = (pos * (below[:, grp] + 0.5 * neg_grp[:, grp])).sum(axis=1)
    return num / (pos.sum(axis=1) * neg.sum(axis=1))


def capture(rank: np.ndarray, p: np.ndarray, k: int) -> float:
    """Expected untreated harm in the model's top ``k`` (by rank) over the oracle's top ``k``."""
    k = min(k, len(p))
    top = np.argsort(rank, kind="stable")[:k]
    return float(p[top].sum() / np.sort(p)[::-1][:k].sum())


def judge(frame: pd.DataFrame, boot: np.ndarray, ref: np.ndarray | None) -> dict:
    """Every measure of one method's ranking (``frame``: score, rank, p_true, managed, y)."""
    from sklearn.metrics import roc_auc_score

    s, p = frame["score"].to_numpy(float), frame["p_true"].to_numpy(float)
    rank = frame["rank"].to_numpy(float)
    auc_b = expected_auc(s, p, boot)
    out: dict = {"people": int(len(frame)), "auc_true": float(expected_auc(s, p)[0]),
                 "auc_true_ci": [float(np.quantile(auc_b, q)) for q in (0.025, 0.975)],
                 "auc_recorded": float(roc_auc_score(frame["y"], s)),
                 "_boot": auc_b}
    if ref is not None:
        d = auc_b - ref
        out["d_auc_vs_censor_ci"] = [float(np.quantile(d, q)) for q in (0.025, 0.975)]
    for k in KS:
        out[f"capture@{k}"] = capture(rank, p, k)
    for name, mask in (("managed", frame["managed"].to_numpy()),
                       ("unmanaged", ~frame["managed"].to_numpy())):
        part = {"people": int(mask.sum())}
        if mask.sum() > 1:
            part["auc_true"] = float(expected_auc(s[mask], p[mask])[0])
            part["pred_over_true"] = float(s[mask].mean() / p[mask].mean())
            part["capture@50"] = capture(rank[mask], p[mask], 50)
            part["in_model_top100"] = int((rank[mask] <= 100).sum())
        out[name] = part
    oracle_top = np.argsort(-p, kind="stable")[:100]
    out["managed"]["in_oracle_top100"] = int(frame["managed"].to_numpy()[oracle_top].sum())
    return out


# ---- one force -------------------------------------------------------------------------------

def force_dir(out: Path, preset: str, scenario: str, managed: int, effect: float,
              seed: int) -> Path:
    tag = "" if scenario == "default" else f"_{scenario}"
    return out / f"{preset}{tag}_k{managed}_e{effect}_s{seed}"


def simulate(data: Path, preset: str, scenario: str, managed: int, effect: float,
             seed: int) -> float:
    """The force, written once by the CLI (kept for later runs); returns the seconds it took."""
    if (data / "_truth" / "summary.json").is_file():
        return 0.0
    t = time.perf_counter()
    cli = Path(sys.executable).with_name("riskcohort")
    subprocess.run([str(cli), "simulate", "--out", str(data), "--preset", preset,
                    "--scenario", scenario, "--managed", str(managed),
                    "--intervention-effect", str(effect), "--seed", str(seed)], check=True)
    return time.perf_counter() - t


def _share_training_set():
    """Build the training set (and the scored snapshot) once per force: every method starts
    from the same rows and changes only weights or adds a column, as run_iteration does."""
    from riskcohort.modelling import iteration, trainset

    build_ts, build_f, cache = trainset.build_training_set, iteration._build, {}

    def training_set(dataset, cfg, snaps, known_by):
        key = ("ts", str(cfg.data_dir), tuple(snaps), known_by)
        if key not in cache:
            cache[key] = build_ts(dataset, cfg, snaps, known_by=known_by)
        t = cache[key]
        return replace(t, keys=t.keys.copy(), weights=t.weights.copy())

    def features(dataset, cfg, as_of_list, labels, known_by=None, keep=None):
        if len(as_of_list) != 1 or keep is not None:
            return build_f(dataset, cfg, as_of_list, labels, known_by, keep)
        key = ("f", str(cfg.data_dir), tuple(as_of_list), labels, known_by)
        if key not in cache:
            cache[key] = build_f(dataset, cfg, as_of_list, labels, known_by, keep)
        return cache[key].copy()

    trainset.build_training_set, iteration._build = training_set, features


def measure_force(data: Path, experiment: Path, as_of: str, methods, n_boot: int,
                  boot_seed: int) -> dict:
    """Train each method as of ``as_of`` and judge its ranking on the true untreated risk."""
    from riskcohort.contract import load_dataset
    from riskcohort.modelling import treatment
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import run_iteration

    _share_training_set()
    cfg = load_experiment(experiment, data=data, as_of=as_of).with_overrides(n_boot=50)
    t = time.perf_counter()
    dataset = load_dataset(cfg.data_dir)
    tables = dataset.tables
    truth = pd.read_parquet(data / "_truth" / "risk.parquet")
    month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    truth = truth.loc[pd.to_datetime(truth["month_start"]) == month, ["person_id",
                                                                      "p_serious_harm"]]
    end = pd.Timestamp(as_of) + pd.Timedelta(days=cfg.horizon_days)
    periods = treatment.known_periods(tables, end)
    res: dict = {"force": data.name, "as_of": as_of, "experiment": str(experiment),
                 "load_seconds": round(time.perf_counter() - t, 1), "methods": {}}
    ref = boot = None
    for method in methods:
        t, c = time.perf_counter(), time.process_time()
        r = run_iteration(cfg.with_overrides(interventions=method), dataset, as_of)
        sc = r.scores[["person_id", "score", "rank"]].copy()
        ev = r.evaluation[["person_id", "serious_harm"]].rename(columns={"serious_harm": "y"})
        fr = sc.merge(ev, on="person_id").merge(truth, on="person_id", how="left")
        missing = int(fr["p_serious_harm"].isna().sum())
        fr = fr.loc[fr["p_serious_harm"].notna()].rename(columns={"p_serious_harm": "p_true"})
        share = treatment.managed_share(fr.assign(as_of=pd.Timestamp(as_of)), periods,
                                        cfg.horizon_days, end)
        fr["managed"] = share > 0
        if boot is None:
            boot = np.random.default_rng(boot_seed).poisson(1.0, (n_boot, len(fr)))
        fr = fr.sort_values("person_id").reset_index(drop=True)  # same rows for every method
        m = judge(fr, boot, ref)
        if method == "censor":
            ref = m["_boot"]
        m.pop("_boot")
        m.update({"missing_truth": missing, "training": r.training.get("interventions", {}),
                  "seconds": round(time.perf_counter() - t, 1),
                  "cpu_seconds": round(time.process_time() - c, 1)})
        res["methods"][method] = m
        print(f"  {data.name} {method:<14} auc_true {m['auc_true']:.4f} "
              f"capture@100 {m['capture@100']:.3f} ({m['seconds']:.0f} s)", flush=True)
    return res


# ---- the table -------------------------------------------------------------------------------

def table(results: list[dict]) -> str:
    """One row per force and method, figures side by side."""
    head = (f"{'force':<22} {'method':<14} {'AUC true [95%]':<22} {'dAUC vs censor':<18} "
            f"{'cap@100':>7} {'cap@200':>7} {'AUCrec':>6} | {'man AUC':>7} {'man p/t':>7} "
            f"{'man top100':>10} | {'unm AUC':>7} {'unm p/t':>7}")
    lines = [head, "-" * len(head)]
    for res in results:
        for method, m in res["methods"].items():
            lo, hi = m["auc_true_ci"]
            d = m.get("d_auc_vs_censor_ci")
            dd = "" if d is None or method == "censor" else \
                f"{m['auc_true'] - res['methods']['censor']['auc_true']:+.4f} " \
                f"[{d[0]:+.3f},{d[1]:+.3f}]"
            mg, um = m["managed"], m["unmanaged"]
            lines.append(
                f"{res['force']:<22} {method:<14} {m['auc_true']:.4f} [{lo:.3f},{hi:.3f}]  "
                f"{dd:<18} {m['capture@100']:7.3f} {m['capture@200']:7.3f} "
                f"{m['auc_recorded']:6.3f} | {mg.get('auc_true', float('nan')):7.3f} "
                f"{mg.get('pred_over_true', float('nan')):7.2f} "
                f"{mg.get('in_model_top100', 0):>4}/{mg.get('in_oracle_top100', 0):<5} | "
                f"{um.get('auc_true', float('nan')):7.3f} "
                f"{um.get('pred_over_true', float('nan')):7.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--effects", default="0.5")
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--preset", default="demo", help="demo (default); small for a quick check")
    ap.add_argument("--managed", type=int, default=60)
    ap.add_argument("--as-of", default="2025-07-01")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--experiment", type=Path, default=ROOT / "experiments/iteration-3-demo.toml")
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_treatment"))
    ap.add_argument("--report", action="store_true", help="print the cached results only")
    a = ap.parse_args()
    import riskcohort  # noqa: F401  (offline settings first)

    a.out.mkdir(parents=True, exist_ok=True)
    methods = [m for m in a.methods.split(",") if m]
    if "censor" in methods:  # the reference of the paired differences comes first
        methods = ["censor", *[m for m in methods if m != "censor"]]
    if not a.report:
        for seed in [int(s) for s in a.seeds.split(",")]:
            for effect in [float(e) for e in a.effects.split(",")]:
                data = force_dir(a.out, a.preset, a.scenario, a.managed, effect, seed)
                cached = a.out / f"{data.name}.{a.as_of}.json"
                if cached.is_file():
                    continue
                sim = simulate(data, a.preset, a.scenario, a.managed, effect, seed)
                res = measure_force(data, a.experiment, a.as_of, methods, a.n_boot, seed)
                res.update({"seed": seed, "effect": effect, "scenario": a.scenario,
                            "managed_k": a.managed, "simulate_seconds": round(sim, 1)})
                cached.write_text(json.dumps(res, indent=2))
    results = [json.loads(p.read_text()) for p in sorted(a.out.glob(f"*.{a.as_of}.json"))]
    print(table(results))
    (a.out / "bench_treatment.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten {a.out / 'bench_treatment.json'}")


if __name__ == "__main__":
    main()
