"""Proxy ablation (issue 16.3): the model refitted without the indicators that may carry bias.

Why: some indicators (drug and stop-and-search driven offences, mental-health contact and
markers) measure how much a person has been *policed or recorded*, not only how dangerous they
are. Whether the model needs them is an empirical question with a cost on each side: dropping
them may lose people who go on to cause serious harm (AUC, recall@k), keeping them may put some
groups in the cohort more often than others of the same true risk (the equal-risk selection
ratio, :mod:`riskcohort.governance.equal_risk`). The pack shows both, with intervals.

How, kept cheap enough to run when the pack is written: the run's own chosen hyperparameters and
number of rounds, no search and no calibration (every number here is a ranking measure, which a
strictly increasing calibrator does not change), fitted twice on the same training snapshots,
once with every indicator and once without the ``proxy_risk`` ones, so the only difference is
the indicators. Both rankings are judged on the same people and the same bootstrap resamples
(paired intervals for the differences).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.governance.equal_risk import REVIEW_SHARE, equal_risk, top_k_share

logger = logging.getLogger(__name__)

ATTRIBUTE = "ethnicity"  # the attribute whose equal-risk ratio the ablation reports
N_BOOT = 200


def proxy_features(features: list[str]) -> list[str]:
    """The ``proxy_risk`` indicators among ``features`` (catalogue order kept)."""
    from riskcohort.features.catalogue import proxy_risk_names

    proxies = set(proxy_risk_names())
    return [f for f in features if f in proxies]


def refit_without_proxies(train: pd.DataFrame, weights: np.ndarray, features: list[str],
                          spec: dict, hyperparameters: dict, seed: int,
                          label: str = "serious_harm"):
    """Two boosters with the same hyperparameters and rounds: every feature, and no proxies.

    Returns ``(with_booster, without_booster, dropped)``. Monotone directions come from the
    spec for each feature list (as in the run).
    """
    from riskcohort.modelling import training
    from riskcohort.modelling.manifest import monotone_for

    hp = dict(hyperparameters)
    rounds = int(hp.pop("num_boost_round"))
    dropped = proxy_features(features)
    kept = [f for f in features if f not in dropped]
    y = train[label].to_numpy(dtype=float)
    w = np.asarray(weights, dtype=float)
    out = []
    for cols in (features, kept):
        params = training.lgb_params(spec, hp, monotone_for(cols, spec), seed)
        params.pop("metric", None)
        X = train[cols].to_numpy(dtype=np.float64)
        out.append(training.train_booster(X, y, w, list(cols), params, rounds))
    return out[0], out[1], dropped


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import roc_auc_score

    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, s, sample_weight=w))


def _recall(y: np.ndarray, s: np.ndarray, k: int, w: np.ndarray | None = None) -> float:
    """Share of the positives in the top ``k`` (a tied group at the cut-off shared out)."""
    if w is None:
        sel = top_k_share(s, k)
        return float((sel * y).sum() / max(y.sum(), 1))
    # resample weights: expand to rows (a person drawn twice counts twice)
    idx = np.repeat(np.arange(len(y)), w.astype(int))
    return _recall(y[idx], s[idx], k)


def _ratios(frame: pd.DataFrame, score: np.ndarray, k: int) -> dict[str, float]:
    """Equal-risk selection ratio of every group (observed / expected at the same true risk)."""
    f = frame[[ATTRIBUTE, "true_risk"]].copy()
    f["_sel"] = top_k_share(score, k)
    t = equal_risk(f, ATTRIBUTE, risk_col="true_risk", selected_col="_sel")
    return {str(g): float(r) for g, r in zip(t["group"], t["ratio"], strict=True)}


def _interval(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(v, [2.5, 97.5])
    return (float(lo), float(hi))


def compare(test: pd.DataFrame, with_score: np.ndarray, without_score: np.ndarray, k: int,
            n_boot: int = N_BOOT, seed: int = 0, label: str = "serious_harm") -> dict:
    """AUC, recall@k and the equal-risk selection ratio of two rankings of the same people.

    ``test``: one row per person with ``label`` and, when known, ``true_risk`` and ``ethnicity``
    (the equal-risk rows then appear; without a true risk they cannot be measured). The ratio
    uses the wider of ``k`` and the top 2% (as the pack's bias section: a cohort of 100 holds
    too few members of a small group). Intervals: 95% percentile bootstrap over people, the same
    resamples for both rankings, so the difference's interval is paired.
    """
    y = test[label].to_numpy(dtype=float)
    s1, s0 = np.asarray(with_score, dtype=float), np.asarray(without_score, dtype=float)
    k_eq = max(int(k), int(round(REVIEW_SHARE * len(test))))
    metrics = {"auc": lambda s, w: _auc(y, s, w), "recall": lambda s, w: _recall(y, s, k, w)}
    groups: list[str] = []
    if "true_risk" in test and test["true_risk"].notna().any() and ATTRIBUTE in test:
        known = test[test["true_risk"].notna()]
        counts = known[ATTRIBUTE].astype("string").fillna("unknown").value_counts()
        groups = [str(g) for g in counts.index if g != "unknown"]
    rng = np.random.default_rng(seed)
    rows = []
    names: list[tuple[str, str, str | None]] = [("auc", "AUC", None),
                                                ("recall", f"recall@{k}", None)]
    names += [(f"ratio:{g}", f"equal-risk selection ratio, {ATTRIBUTE} {g} (top {k_eq})", g)
              for g in groups]
    draws = [rng.integers(0, len(y), len(y)) for _ in range(n_boot)]
    points: dict[str, tuple[float, float]] = {}
    boots: dict[str, list[tuple[float, float]]] = {key: [] for key, _, _ in names}
    for key, fn in metrics.items():
        points[key] = (fn(s1, None), fn(s0, None))
        for idx in draws:
            w = np.bincount(idx, minlength=len(y)).astype(float)
            boots[key].append((fn(s1, w), fn(s0, w)))
    if groups:
        r1, r0 = _ratios(test, s1, k_eq), _ratios(test, s0, k_eq)
        for g in groups:
            points[f"ratio:{g}"] = (r1.get(g, np.nan), r0.get(g, np.nan))
        for idx in draws:
            sub = test.iloc[idx].reset_index(drop=True)
            r1, r0 = _ratios(sub, s1[idx], k_eq), _ratios(sub, s0[idx], k_eq)
            for g in groups:
                boots[f"ratio:{g}"].append((r1.get(g, np.nan), r0.get(g, np.nan)))
    for key, text, _ in names:
        point = points[key]
        b = np.asarray(boots[key], dtype=float).reshape(-1, 2)
        rows.append({"metric": key, "label": text, "with": point[0], "without": point[1],
                     "difference": point[0] - point[1],
                     "with_ci": _interval(b[:, 0]), "without_ci": _interval(b[:, 1]),
                     "difference_ci": _interval(b[:, 0] - b[:, 1])})
    return {"k": int(k), "k_equal_risk": k_eq, "n_people": len(y), "positives": int(y.sum()),
            "n_boot": n_boot, "rows": rows}


def ablate(train: pd.DataFrame, weights: np.ndarray, test: pd.DataFrame, features: list[str],
           spec: dict, hyperparameters: dict, k: int, seed: int = 0, n_boot: int = N_BOOT,
           boot_seed: int = 0) -> dict:
    """Refit with and without the proxy indicators and compare them on ``test`` (see module)."""
    b1, b0, dropped = refit_without_proxies(train, weights, features, spec, hyperparameters, seed)
    kept = [f for f in features if f not in dropped]
    s1 = b1.predict(test[features].to_numpy(dtype=np.float64), raw_score=True)
    s0 = b0.predict(test[kept].to_numpy(dtype=np.float64), raw_score=True)
    out = compare(test, s1, s0, k, n_boot=n_boot, seed=boot_seed)
    out.update(available=True, dropped=dropped, features_with=len(features),
               features_without=len(kept), without_features=kept,
               with_score=s1, without_score=s0)
    out["text"] = meaning(out)
    return out


def meaning(res: dict) -> str:
    """What the difference means, in plain English (the pack's paragraph)."""
    by = {r["metric"]: r for r in res["rows"]}
    parts = []
    for key, name in (("auc", "AUC"), ("recall", f"recall@{res['k']}")):
        r = by[key]
        lo, hi = r["difference_ci"]
        if not np.isfinite(r["difference"]):
            continue
        if lo > 0:
            parts.append(f"the proxy indicators add to {name} ({r['difference']:+.3f}, "
                         f"95% interval {lo:+.3f} to {hi:+.3f})")
        elif hi < 0:
            parts.append(f"the model does better on {name} without them "
                         f"({-r['difference']:+.3f}, 95% interval {-hi:+.3f} to {-lo:+.3f})")
        else:
            parts.append(f"{name} is not clearly different with or without them "
                         f"({r['difference']:+.3f}, 95% interval {lo:+.3f} to {hi:+.3f})")
    text = "On these people, " + "; ".join(parts) + "." if parts else ""
    ratios = [r for r in res["rows"] if r["metric"].startswith("ratio:")]
    moved = [r for r in ratios if np.isfinite(r["difference"])
             and (r["difference_ci"][0] > 0 or r["difference_ci"][1] < 0)]
    if not ratios:
        text += (" The equal-risk selection ratio needs the true risk, known only on synthetic "
                 "data, so it is not shown.")
    elif moved:
        text += " Removing them changes how often " + ", ".join(
            f"{r['metric'].split(':', 1)[1]} people are selected at equal true risk "
            f"({r['with']:.2f} to {r['without']:.2f})" for r in moved) + (
            ": the proxies carry recording differences between groups into the cohort.")
    else:
        text += (" Removing them does not clearly change how often any group is selected "
                 "compared with people of the same true risk (every paired interval of the "
                 "difference includes 0).")
    text += (" A small loss of accuracy can be worth paying for a fairer cohort; a large one "
             "means people who will cause serious harm are missed. The decision is the "
             "force's, with this evidence.")
    return text


def _unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def from_run(run, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The ablation of a published run folder (rebuilds its training snapshots from its data).

    Needs a backtest (outcomes known at the run's as-of), the run's experiment file and data
    folder; otherwise a dict with ``available`` False and the reason, for the pack to say.
    """
    from riskcohort.errors import UserError

    man = run.manifest
    if not man.get("backtest"):
        return _unavailable("outcomes after the scoring date are not known yet (not a backtest)")
    exp_file = man.get("experiment_file")
    if not exp_file or not Path(exp_file).is_file():
        return _unavailable("the run's experiment file is not available")
    if run.data_dir is None or not run.data_dir.is_dir():
        return _unavailable("the run's data folder is not available")
    feats, ev = run.features, run.evaluation
    if feats is None or ev is None or "serious_harm" not in ev:
        return _unavailable("the run folder has no scored indicators or outcomes")
    features = [f for f in man.get("features", []) if f in feats]
    if not proxy_features(features):
        return _unavailable("the model uses no proxy-risk indicator")
    try:
        return _from_run(run, features, feats, ev, n_boot, seed)
    except (UserError, FileNotFoundError, KeyError, ValueError) as exc:
        logger.warning("proxy ablation not run: %s", exc)
        return _unavailable(f"it could not be refitted ({exc})")


def _from_run(run, features, feats, ev, n_boot, seed) -> dict:
    from riskcohort.contract import load_dataset
    from riskcohort.governance.protected import attach_protected, attach_true_risk
    from riskcohort.modelling import trainset
    from riskcohort.modelling.config import load_experiment

    man = run.manifest
    as_of = pd.Timestamp(run.as_of).date()
    cfg = load_experiment(man.get("experiment_file"), data=run.data_dir, as_of=as_of)
    snaps = tuple(pd.Timestamp(s).date() for s in man.get("training_snapshots", []))
    cfg = cfg.with_overrides(snapshots=snaps)
    if cfg.data_dir is None:  # from_run checked the run's data folder; reported, not raised
        raise ValueError("the experiment names no data folder")
    ds = load_dataset(cfg.data_dir)
    logger.info("proxy ablation: rebuilding %d training snapshots", len(snaps))
    tset = trainset.build_training_set(ds, cfg, list(snaps), known_by=as_of)
    test = feats.assign(person_id=feats["person_id"].astype(str)).merge(
        ev[["person_id", "serious_harm"]].assign(person_id=ev["person_id"].astype(str))
        .drop_duplicates("person_id"), on="person_id", how="inner")
    test = attach_true_risk(attach_protected(test, run.data_dir, run.as_of), run.data_dir,
                            run.as_of, ev)
    return ablate(tset.frame, tset.weights, test, features, cfg.model_spec,
                  dict(man.get("hyperparameters")), int(man.get("k", 100)),
                  seed=int(man.get("seed", 0)), n_boot=n_boot, boot_seed=seed)


def table_rows(res: dict) -> list[dict]:
    """The pack's rows: readable label and each number as shown (3 decimals, 95% interval)."""
    def num(v: float) -> str:
        return "-" if v is None or not np.isfinite(v) else f"{v:.3f}"

    def ci(pair) -> str:
        return f"{num(pair[0])} to {num(pair[1])}"

    return [{"label": r["label"], "with": num(r["with"]), "with_ci": ci(r["with_ci"]),
             "without": num(r["without"]), "without_ci": ci(r["without_ci"]),
             "difference": "-" if not np.isfinite(r["difference"]) else f"{r['difference']:+.3f}",
             "difference_ci": ci(r["difference_ci"])} for r in res.get("rows", [])]


def section(run, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """What the pack's "Proxy ablation" block shows (``available`` False: the reason only)."""
    from riskcohort.display import indicator_name

    res = from_run(run, n_boot=n_boot, seed=seed)
    if res.get("available"):
        res["table"] = table_rows(res)
        res["dropped_names"] = [indicator_name(f) for f in res["dropped"]]
    return res
