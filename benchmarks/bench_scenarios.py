"""Judge modelling choices across simulate scenarios and seeds (issue 16.4).

Why: a default that is best on the generator we develop beside may only be fitted to it. Each
choice (search size, selection metric, calibration, monotone directions) is fitted on the same
training snapshots of several scenarios x seeds and scored at one as-of date against the truth,
beside a *plain reference* (LightGBM with default settings on every DASH item, marker,
separation, custody and age) and the oracle (the generator's true probability,
``_truth/risk.parquet``). A default is judged by its mean rank and its worst share of the oracle's
recall over every world, never by its best.

Run (quick, ~20 min on 2 busy cores; datasets are simulated into --work when absent)::

    nice -n 10 .venv/bin/python benchmarks/bench_scenarios.py --preset small \\
        --scenarios dash-noise weak-separation latent-trait --seeds 0 1 --work /tmp/S/data

Prints one Markdown table per world and a summary; ``--json`` keeps every number. Nothing here
is a timed unit test; the numbers are evidence for ``models/lightgbm.toml`` (docs/modelling.md).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import riskcohort  # noqa: F401  (offline settings first)

ROOT = Path(__file__).resolve().parents[1]

WIDE_SEARCH = {  # a larger space: the current lists plus the extremes the spec comment tried
    "num_leaves": [15, 7, 31, 63], "min_child_samples": [200, 500, 100, 50, 1000],
    "feature_fraction": [0.6, 0.8, 1.0], "bagging_fraction": [0.8, 1.0],
    "lambda_l2": [1.0, 10.0, 50.0],
}


def variants(spec: dict, n_trials: int) -> dict[str, dict]:
    """Choice name -> {spec, calibration, monotone}: one switch changed from the current default.

    Calibration is not refitted per choice: a strictly increasing calibrator leaves the ranking
    as it is, so each method is fitted on the current choice's own out-of-fold margins (what
    ``auto`` chooses from) and judged by log loss and observed/expected on the test dates.
    """
    def with_search(**kw) -> dict:
        s = copy.deepcopy(spec)
        s["search"] = {**s["search"], **kw}
        return s

    def with_selection(metric: str) -> dict:
        s = copy.deepcopy(spec)
        s["selection"] = {**s.get("selection", {}), "metric": metric}
        return s

    cur = {"spec": spec, "calibration": "auto", "monotone": True}
    return {
        "current": cur,
        "trials_1": {**cur, "spec": with_search(n_trials=1)},
        f"wide_{2 * n_trials}": {**cur, "spec": with_search(**WIDE_SEARCH, n_trials=2 * n_trials)},
        "metric_ap": {**cur, "spec": with_selection("average_precision")},
        "monotone_off": {**cur, "monotone": False},
    }


CALIBRATIONS = ("auto", "platt", "isotonic")
#: the stronger plain reference: common regularised settings for a rare outcome, chosen before
#: any result (not searched, not from our generator)
PLAIN_REGULARISED = {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15,
                     "min_child_samples": 200, "colsample_bytree": 0.8, "reg_lambda": 10.0}


def plain_columns(columns: list[str]) -> list[str]:
    """Every DASH/DARA item, marker, separation, custody and age column: the plain reference."""
    keep = []
    for c in columns:
        if (c.startswith(("ra_", "marker_", "dash_")) or "separat" in c or "custody" in c
                or c == "age_at_as_of"):
            keep.append(c)
    return keep


def _metrics(y, score, oracle, k: int, p=None) -> dict:
    """AUC, recall@k (ties broken by row order, same for every score) and the oracle's share.

    k is the top share of the pooled person-dates (2% of each date's population on average).
    """
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    def recall(s):
        top = np.argsort(-np.asarray(s, dtype=float), kind="stable")[:k]
        return float(y[top].sum() / max(y.sum(), 1))

    out = {"auc": float(roc_auc_score(y, score)), "recall": recall(score)}
    if oracle is not None:
        ok = ~np.isnan(oracle)
        orc = np.where(ok, oracle, 0.0)
        out["oracle_recall"] = recall(orc)
        out["oracle_share"] = out["recall"] / out["oracle_recall"] if out["oracle_recall"] else None
    if p is not None:
        p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        out["log_loss"] = float(log_loss(y, p, labels=[0, 1]))
        out["o_e"] = float(y.sum() / p.sum())
    return out


def _per_date(y, score, oracle, offsets, k: int = 200) -> dict:
    """The hidden checks' view: each test date on its own with a fixed k (default 200).

    ``auc``/``recall`` are means over the dates; ``oracle_share`` is the ratio of mean recalls
    (the issue's 0.245 / 0.400 = 0.61) and ``harm_share`` the oracle's expected harm (sum of
    the true probability) in this score's top k over the same sum in the oracle's top k, both
    averaged over dates first. Ties are broken by row order, the same for every score.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    score = np.asarray(score, dtype=float)
    aucs, rec, orec, harm, oharm = [], [], [], [], []
    for a, b in zip(offsets[:-1], offsets[1:], strict=True):
        yy, ss = y[a:b], score[a:b]
        top = np.argsort(-ss, kind="stable")[:k]
        aucs.append(roc_auc_score(yy, ss))
        rec.append(yy[top].sum() / max(yy.sum(), 1))
        if oracle is not None:
            oo = np.nan_to_num(oracle[a:b])
            otop = np.argsort(-oo, kind="stable")[:k]
            orec.append(yy[otop].sum() / max(yy.sum(), 1))
            harm.append(oo[top].sum())
            oharm.append(oo[otop].sum())
    out = {"k": k, "auc": float(np.mean(aucs)), "recall": float(np.mean(rec)),
           "by_date": {"auc": [float(v) for v in aucs], "recall": [float(v) for v in rec]}}
    if orec:
        out["oracle_recall"] = float(np.mean(orec))
        out["oracle_share"] = float(np.mean(rec) / np.mean(orec)) if np.mean(orec) else None
        out["harm_share"] = float(np.mean(harm) / np.mean(oharm)) if np.mean(oharm) else None
    return out


def one_world(data: Path, args, log, res: dict, save=lambda: None) -> dict:
    """Fit every choice on one dataset into ``res`` ({choice: metrics}; ``save`` after each)."""
    import datetime as dt

    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    from riskcohort.contract import load_dataset
    from riskcohort.modelling import training, trainset
    from riskcohort.modelling.baselines import oracle_scores
    from riskcohort.modelling.config import load_experiment
    from riskcohort.modelling.iteration import _build, training_snapshots
    from riskcohort.modelling.manifest import monotone_for
    from riskcohort.modelling.model import CohortModel

    cfg = load_experiment(args.experiment, data=data, as_of=args.as_of)
    cfg = cfg.with_overrides(max_snapshots=args.max_snapshots)
    t = time.perf_counter()
    ds = load_dataset(cfg.data_dir)
    snaps = training_snapshots(cfg, ds.tables, cfg.as_of)
    tset = trainset.build_training_set(ds, cfg, snaps, known_by=cfg.as_of)
    train, w = tset.frame, tset.weights
    # test: the training as-of and the later --test-dates, pooled (person-dates; outcome
    # windows overlap, so the pool is a steadier estimate, not independent evidence)
    tests = [cfg.as_of, *(dt.date.fromisoformat(d) for d in args.test_dates)]
    parts = [_build(ds, cfg, [d], labels=True) for d in tests]
    now = pd.concat(parts, ignore_index=True)
    cols = training.feature_columns(train, cfg.exclude_features)
    y_now = now["serious_harm"].to_numpy().astype(int)
    k = max(1, int(round(args.top_share * len(now))))
    oracle = np.concatenate([oracle_scores(f, ds.root, d) for f, d in zip(parts, tests,
                                                                          strict=True)])
    offsets = np.cumsum([0, *(len(f) for f in parts)])
    per_date = lambda s: _per_date(y_now, s, oracle, offsets, args.k)  # noqa: E731
    log(f"  {data.name}: {len(snaps)} snapshots, {len(train):,} rows, "
        f"{int(train['serious_harm'].sum())} positives; test {len(now):,} people, "
        f"{int(y_now.sum())} positives, k={k} ({time.perf_counter() - t:.0f} s)")
    res["_world"] = {"people": len(now), "positives": int(y_now.sum()), "k": k,
                     "snapshots": len(snaps), "train_rows": len(train)}
    spans = list(zip(offsets[:-1], offsets[1:], strict=True))
    res["_world"]["by_date"] = {"dates": [str(d) for d in tests],
                                "people": [int(b - a) for a, b in spans],
                                "positives": [int(y_now[a:b].sum()) for a, b in spans]}
    res["oracle"] = _metrics(y_now, np.nan_to_num(oracle), oracle, k) if oracle is not None else {}
    if oracle is not None:
        res["oracle"]["per_date"] = per_date(np.nan_to_num(oracle))
    X, y = train[cols], train["serious_harm"].astype(int)
    from riskcohort.modelling import calibration as cal_mod
    from riskcohort.modelling import model as model_mod

    found_box: list = []
    real_search = model_mod.training.search

    def capture(*a, **kw):  # keep the out-of-fold margins the calibrators are chosen on
        found_box.append(real_search(*a, **kw))
        return found_box[-1]
    t = time.perf_counter()
    pcols = plain_columns(cols)
    ref = lgb.LGBMClassifier(n_jobs=2, verbose=-1, random_state=cfg.seed)
    ref.fit(train[pcols], y, sample_weight=w)
    pr = ref.predict_proba(now[pcols])[:, 1]
    res["plain_reference"] = {**_metrics(y_now, pr, oracle, k, pr), "columns": len(pcols),
                              "seconds": round(time.perf_counter() - t, 1),
                              "per_date": per_date(pr)}
    save()
    log(f"    plain_reference AUC {res['plain_reference']['auc']:.3f} "
        f"recall {res['plain_reference']['recall']:.3f}")
    # LightGBM's defaults (31 leaves, 20 rows a leaf, 100 rounds at 0.1) overfit a rare outcome,
    # so the reference would be a straw man; a practitioner's regularised settings, fixed (no
    # search, no early stopping, no monotone directions), on the same plain columns:
    t = time.perf_counter()
    reg = lgb.LGBMClassifier(n_jobs=2, verbose=-1, random_state=cfg.seed, **PLAIN_REGULARISED)
    reg.fit(train[pcols], y, sample_weight=w)
    pr = reg.predict_proba(now[pcols])[:, 1]
    res["plain_regularised"] = {**_metrics(y_now, pr, oracle, k, pr), "columns": len(pcols),
                                "seconds": round(time.perf_counter() - t, 1),
                                "per_date": per_date(pr), "params": PLAIN_REGULARISED}
    save()
    log(f"    plain_regularised AUC {res['plain_regularised']['auc']:.3f} "
        f"recall {res['plain_regularised']['recall']:.3f}")
    n_trials = int(cfg.model_spec["search"].get("n_trials", 4))
    for name, v in variants(cfg.model_spec, n_trials).items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        mono = monotone_for(cols, v["spec"]) if v["monotone"] else None
        m = CohortModel(spec=v["spec"], monotone=mono, horizon_days=cfg.horizon_days,
                        n_folds=cfg.cv_folds, block=cfg.cv_block_months,
                        min_train=cfg.min_train_snapshots, calibration=v["calibration"],
                        interval_members=0, seed=cfg.seed)
        model_mod.training.search = capture
        try:
            m.fit(X, y, groups=train["as_of"], sample_weight=w)
        finally:
            model_mod.training.search = real_search
        p = m.predict_risk(now[cols])
        if name == "current":
            fd, margin = found_box[-1], m.raw_margin(now[cols])
            res["_calibration"] = {}
            for meth in CALIBRATIONS:
                cal = cal_mod.choose(meth, fd.oof_margin, fd.oof_y, fd.oof_time)
                res["_calibration"][meth] = {
                    **_metrics(y_now, margin, None, k, cal_mod.apply(cal, margin)),
                    "chosen": cal["method"]}
        margin = m.raw_margin(now[cols])
        res[name] = {**_metrics(y_now, margin, oracle, k, p),
                     "seconds": round(time.perf_counter() - t, 1),
                     "per_date": per_date(margin),
                     "calibrator": m.calibrator_["method"],
                     "chosen": m.selection_["hyperparameters"]}
        save()
        log(f"    {name:<14} AUC {res[name]['auc']:.3f} recall {res[name]['recall']:.3f} "
            f"({res[name]['seconds']:.0f} s)")
    return res


def _f(v, digits=3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def tables(results: dict) -> str:
    """One Markdown table: rows = choices, columns = worlds (AUC / recall@k / share), summary."""
    import numpy as np

    worlds = list(results)
    names = list(dict.fromkeys(n for r in results.values() for n in r
                               if not n.startswith("_") and n != "oracle"))
    lines = ["| choice | " + " | ".join(worlds) + " | mean AUC | mean share | worst share | "
             "mean rank | mean log loss |",
             "|---|" + "---|" * (len(worlds) + 5)]
    ranks = {n: [] for n in names}
    for w in worlds:
        cand = [n for n in names if n in results[w]]
        order = sorted(cand, key=lambda n: -(results[w][n]["recall"] + results[w][n]["auc"] / 100))
        for i, n in enumerate(order):
            ranks[n].append(i + 1)
    for n in names:
        cells, aucs, shares, lls = [], [], [], []
        for w in worlds:
            r = results[w].get(n)
            if r is None:
                cells.append("-")
                continue
            cells.append(f"{r['auc']:.3f} / {r['recall']:.3f} / {_f(r.get('oracle_share'), 2)}")
            aucs.append(r["auc"])
            lls.append(r.get("log_loss", np.nan))
            if r.get("oracle_share") is not None:
                shares.append(r["oracle_share"])
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {_f(np.mean(aucs))} | "
                     f"{_f(np.mean(shares) if shares else None, 2)} | "
                     f"{_f(min(shares) if shares else None, 2)} | {np.mean(ranks[n]):.1f} | "
                     f"{_f(np.nanmean(lls), 4)} |")
    orc = [f"{results[w]['oracle'].get('auc', float('nan')):.3f} / "
           f"{results[w]['oracle'].get('recall', float('nan')):.3f} / 1.00" for w in worlds]
    lines.append("| oracle (true risk) | " + " | ".join(orc) + " | | | | | |")
    info = [f"{w}: {results[w]['_world']['people']:,} people, "
            f"{results[w]['_world']['positives']} positives, k={results[w]['_world']['k']}"
            for w in worlds]
    cal_lines = ["", "| calibration (current choice) | " + " | ".join(worlds)
                 + " | mean log loss |", "|---|" + "---|" * (len(worlds) + 1)]
    for meth in CALIBRATIONS:
        cells = []
        lls = []
        for w in worlds:
            c = results[w].get("_calibration", {}).get(meth)
            if c is None:
                cells.append("-")
                continue
            lls.append(c["log_loss"])
            cells.append(f"{c['log_loss']:.4f} / O/E {c['o_e']:.2f}"
                         + (f" ({c['chosen']})" if meth == "auto" else ""))
        cal_lines.append(f"| {meth} | " + " | ".join(cells) + f" | {_f(np.mean(lls), 4)} |")
    lines += cal_lines
    return "\n".join(lines) + "\n\nCells: AUC / recall@k / share of the oracle's recall@k. " \
        + "; ".join(info) + "."


def checks_table(results: dict, engine: str = "current") -> str:
    """The hidden checks' view per world: engine vs the plain reference and the oracle at k.

    Each test date on its own (k people), then averaged over the dates (``_per_date``).
    """
    rows = ["| world | positives per date | AUC engine / plain | recall@k engine / plain / "
            "oracle | share of oracle recall@k | share of oracle expected harm in top k | "
            "regularised plain reference: AUC / recall@k |",
            "|---|---|---|---|---|---|---|"]
    for w, r in results.items():
        if engine not in r:  # a run of other choices only: the first fitted one
            engine = next((n for n in r if not n.startswith("_")
                           and n != "oracle" and not n.startswith("plain")), engine)
        e, pl = (r.get(engine) or {}).get("per_date"), (r.get("plain_reference") or {})
        pl, orc = pl.get("per_date"), (r.get("oracle") or {}).get("per_date") or {}
        reg = (r.get("plain_regularised") or {}).get("per_date")
        if not e or not pl:
            continue
        pos = "/".join(str(v) for v in r["_world"].get("by_date", {}).get("positives", []))
        rows.append(f"| {w} | {pos} | {e['auc']:.3f} / {pl['auc']:.3f} | {e['recall']:.3f} / "
                    f"{pl['recall']:.3f} / {_f(orc.get('recall'))} | "
                    f"{_f(e.get('oracle_share'), 2)} | {_f(e.get('harm_share'), 2)} | "
                    + (f"{reg['auc']:.3f} / {reg['recall']:.3f} |" if reg else "- |"))
    k = next((r[engine]["per_date"]["k"] for r in results.values()
              if r.get(engine, {}).get("per_date")), "k")
    return "\n".join(rows).replace("@k", f"@{k}").replace("top k", f"top {k}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small", choices=["tiny", "small", "demo", "force"])
    ap.add_argument("--scenarios", nargs="+",
                    default=["dash-noise", "weak-separation", "latent-trait"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_scenarios"))
    ap.add_argument("--experiment", type=Path,
                    default=ROOT / "experiments/iteration-3-small.toml")
    ap.add_argument("--as-of", default="2025-05-01", help="training as-of (labels known by)")
    ap.add_argument("--test-dates", nargs="*", default=["2025-07-01", "2025-09-01"],
                    help="later dates also scored (pooled with --as-of)")
    ap.add_argument("--max-snapshots", type=int, default=24)
    ap.add_argument("--top-share", type=float, default=0.02, help="k as a share of the population")
    ap.add_argument("--k", type=int, default=200,
                    help="k of the per-date view (the hidden checks' recall@200)")
    ap.add_argument("--only", nargs="*", default=None, help="fit only these choices")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--merge", nargs="*", type=Path, default=None,
                    help="print the table of earlier --json files (runs split by seed) and stop")
    args = ap.parse_args()
    if args.merge:
        merged: dict = {}
        for path in args.merge:  # files of one world (e.g. references re-run) are joined
            for world, found in json.loads(path.read_text()).items():
                merged.setdefault(world, {}).update(found)
        order = sorted(merged, key=lambda w: (w.split(" s")[0], w))
        print(tables({w: merged[w] for w in order}))
        print()
        print(checks_table({w: merged[w] for w in order}))
        return

    def log(msg: str) -> None:
        print(msg, flush=True)

    from riskcohort.simulate.api import simulate

    results = {}
    for sc in args.scenarios:
        for seed in args.seeds:
            data = args.work / f"{args.preset}-{sc}-{seed}"
            if not (data / ".done").exists():
                log(f"simulating {data}")
                simulate(data, preset=args.preset, seed=seed, scenario=sc, clean=True)
                (data / ".done").touch()
            def save() -> None:
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1, default=str))

            results[f"{sc} s{seed}"] = {}
            one_world(data, args, log, results[f"{sc} s{seed}"], save)
    print()
    print(tables(results))
    print()
    print(checks_table(results))


if __name__ == "__main__":
    main()
