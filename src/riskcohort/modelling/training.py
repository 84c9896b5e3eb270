"""Training with time-ordered validation: snapshots, rolling-origin folds, search, calibration.

Why rolling-origin with a gap: a label at snapshot T looks at outcomes in ``[T, T + horizon)``.
In deployment at date A, the newest usable training snapshot satisfies ``T + horizon <= A``. A
validation block starting at V plays the role of A, so its training snapshots must satisfy
``T + horizon <= V``. Without that gap, training labels would count incidents that happen
*during* the validation period (and the same people's outcomes would appear on both sides),
which flatters validation scores and picks over-fitted hyperparameters. Validation blocks are the
latest snapshots, so hyperparameters are chosen on the most recent behaviour.

Imbalance (~1% positives): no oversampling or class weights that distort probabilities. Negatives
are down-sampled by ``negative_sample`` with weight ``1 / negative_sample`` (fast, unbiased in
expectation), validation uses every row, early stopping watches log loss, the search maximises
average precision (the ranking of the rare positives), and the calibrator maps the margin back to
probabilities on untouched out-of-time rows.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from riskcohort.errors import UserError
from riskcohort.modelling import calibration as cal_mod
from riskcohort.modelling.config import selection
from riskcohort.modelling.model import DETERMINISTIC, CohortModel

LABEL = "serious_harm"
NON_FEATURES = {"person_id", "as_of", "serious_harm", "homicide", "harm_weight"}
PROTECTED = {"sex", "ethnicity"}


def add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def derive_snapshots(data_start, as_of, horizon_days: int, every_months: int = 1,
                     min_history_days: int = 365, max_snapshots: int = 36) -> list[dt.date]:
    """Monthly training dates: first of month, history before them, ``T + horizon <= as_of``.

    >>> s = derive_snapshots(dt.date(2020, 1, 15), dt.date(2023, 1, 1), 365)
    >>> s[0], s[-1], len(s)
    (datetime.date(2021, 2, 1), datetime.date(2022, 1, 1), 12)
    """
    start = pd.Timestamp(data_start).date() + dt.timedelta(days=min_history_days)
    first = add_months(start.replace(day=1), 0 if start.day == 1 else 1)
    last_ok = pd.Timestamp(as_of).date() - dt.timedelta(days=horizon_days)
    out, t = [], first
    while t <= last_ok:
        out.append(t)
        t = add_months(t, every_months)
    return out[-max_snapshots:] if max_snapshots else out


def eligible(snapshots, as_of, horizon_days: int) -> list[dt.date]:
    """The leakage guard: only snapshots whose whole horizon ends by ``as_of``."""
    limit = pd.Timestamp(as_of).date() - dt.timedelta(days=horizon_days)
    return [s for s in snapshots if s <= limit]


def folds(snapshots, horizon_days: int, n_folds: int = 3, block: int = 2, min_train: int = 2):
    """Rolling-origin folds: [(train dates, validation dates)], oldest first (see module doc)."""
    snaps = sorted(snapshots)
    out = []
    for i in range(n_folds, 0, -1):
        val = snaps[len(snaps) - i * block: len(snaps) - (i - 1) * block or None]
        if len(val) < block or len(snaps) < i * block:
            continue
        limit = val[0] - dt.timedelta(days=horizon_days)
        train = [s for s in snaps if s <= limit]
        if len(train) >= min_train:
            out.append((train, val))
    return out


def feature_columns(frame: pd.DataFrame, exclude=()) -> list[str]:
    """Indicator columns used as model inputs (never labels, keys or protected attributes)."""
    return [c for c in frame.columns if c not in NON_FEATURES and c not in PROTECTED
            and c not in set(exclude) and pd.api.types.is_numeric_dtype(frame[c])]


def trials(spec: dict, seed: int) -> list[dict]:
    """Hyperparameter candidates: the first values of each list, then random draws (seeded)."""
    search = dict(spec.get("search", {}))
    n = int(search.pop("n_trials", 4))
    rng = np.random.default_rng(seed)
    out = [{k: v[0] for k, v in search.items()}]
    seen = {tuple(sorted(out[0].items()))}
    for _ in range(50 * n):
        if len(out) >= n:
            break
        cand = {k: v[int(rng.integers(len(v)))] for k, v in search.items()}
        key = tuple(sorted(cand.items()))
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def sample_weights(y: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Keep every positive, a ``rate`` share of negatives weighted ``1/rate``; 0 = dropped."""
    if rate >= 1:
        return np.ones(len(y))
    keep = np.random.default_rng(seed).random(len(y)) < rate
    return np.where(y > 0, 1.0, np.where(keep, 1.0 / rate, 0.0))


def _params(spec: dict, trial: dict, monotone: list[int] | None, seed: int) -> dict:
    fixed = {k: v for k, v in spec.get("fixed", {}).items()
             if k not in ("max_rounds", "early_stopping_rounds")}
    p = {"objective": "binary", "metric": "binary_logloss", **fixed, **trial, **DETERMINISTIC}
    if p.get("bagging_fraction", 1.0) < 1.0:
        p.setdefault("bagging_freq", 1)
    if monotone and any(monotone):
        p["monotone_constraints"] = monotone
        p.setdefault("monotone_constraints_method",
                     spec.get("monotone", {}).get("method", "intermediate"))
    for key in ("seed", "bagging_seed", "feature_fraction_seed", "data_random_seed"):
        p[key] = seed
    return p


def top_share_recall(y: np.ndarray, margin: np.ndarray, groups: np.ndarray,
                     share: float = 0.01) -> float:
    """Share of the positives caught in the top ``share`` of each group (validation snapshot).

    Why: the team acts on the top of the ranking, not on its bulk. Log loss and average
    precision are dominated by the ~99% of people far from any cohort, so choosing rounds and
    hyperparameters by them under-fits the top (measured: docs/modelling.md). 1% of a snapshot
    (~1,000 people on the force preset) holds ~30 positives, far less noisy than a top 100.

    >>> top_share_recall(np.array([1, 0, 0, 1, 0, 0]), np.array([.9, .1, .2, .1, .8, .3]),
    ...                  np.array([0, 0, 0, 1, 1, 1]), share=0.34)
    0.5
    """
    caught, total = 0.0, 0.0
    for g in np.unique(groups):
        m = groups == g
        k = max(1, int(round(share * m.sum())))
        top = np.argsort(-margin[m], kind="stable")[:k]
        caught += y[m][top].sum()
        total += y[m].sum()
    return float(caught / total) if total else float("nan")


def _feval(y_va: np.ndarray, groups: np.ndarray, share: float):
    """LightGBM eval function (higher is better) for early stopping on the top share."""
    def top_share(preds, _data):
        return "top_share_recall", top_share_recall(y_va, preds, groups, share), True
    return top_share


def _dataset(X, y, w, names, spec):
    """Binned once per fold and reused by every trial (pre-filtering off so trials may differ
    in ``min_child_samples``)."""
    keep = w > 0
    params = {"feature_pre_filter": False, "verbose": -1,
              "max_bin": spec.get("fixed", {}).get("max_bin", 255)}
    return lgb.Dataset(X[keep], label=y[keep], weight=w[keep], feature_name=names,
                       free_raw_data=False, params=params)


def fit(frame: pd.DataFrame, features: list[str], spec: dict, *, horizon_days: int,
        seed: int = 0, negative_sample: float = 1.0, n_folds: int = 3, block: int = 2,
        min_train: int = 2, calibration: str = "auto", monotone: list[int] | None = None,
        log=None) -> tuple[CohortModel, dict]:
    """Select hyperparameters and rounds by rolling-origin CV, calibrate out of time, refit.

    ``frame`` holds the training snapshots only (already leakage-guarded by the caller).
    Returns the model and a record of every choice (for ``run.json``).
    """
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    frame = frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
    dates = pd.to_datetime(frame["as_of"]).dt.date.to_numpy()
    X = frame[features].to_numpy(dtype=np.float64)
    y = frame[LABEL].to_numpy(dtype=float)
    if y.sum() == 0 or y.sum() == len(y):
        raise UserError(
            f"modelling: rule 'both outcomes in training', the {len(set(dates))} training "
            f"snapshots have {int(y.sum())} positives in {len(y)} rows; use a longer data range "
            "or a larger dataset"
        )
    w = sample_weights(y, negative_sample, seed)
    fold_list = folds(sorted(set(dates)), horizon_days, n_folds, block, min_train)
    if not fold_list:
        need = min_train + block + horizon_days // 28
        raise UserError(
            f"modelling: rule 'enough snapshots for time-ordered validation': {len(set(dates))} "
            f"training snapshots, need about {need} monthly snapshots (at least {min_train} "
            f"training + {block} validation, {horizon_days} days apart); use an earlier data "
            "start, a later --as-of, or lower training.min_train_snapshots/cv_block_months"
        )
    fixed = spec.get("fixed", {})
    max_rounds = int(fixed.get("max_rounds", 1000))
    es = int(fixed.get("early_stopping_rounds", 50))
    fold_data = []
    for train_d, val_d in fold_list:
        tr, va = np.isin(dates, train_d), np.isin(dates, val_d)
        if y[tr].sum() == 0 or y[va].sum() == 0:
            continue
        dtr = _dataset(X[tr], y[tr], w[tr], features, spec)
        dva = lgb.Dataset(X[va], label=y[va], reference=dtr, feature_name=features)
        fold_data.append((dtr, dva, va))
    if not fold_data:
        raise UserError("modelling: rule 'positives in every fold': no validation fold has both "
                        "outcomes; the dataset is too small for time-ordered validation")
    results = []
    metric, share = selection(spec)
    # validation sets reuse the training bins on purpose; LightGBM warns about that each time
    warnings.filterwarnings("ignore", message="Overriding the parameters from Reference")
    for i, trial in enumerate(trials(spec, seed)):
        params = _params(spec, trial, monotone, seed)
        if metric == "top_share_recall":
            params["metric"] = "None"
        iters, aps, tops, margins = [], [], [], []
        for dtr, dva, va in fold_data:
            feval = _feval(y[va], dates[va], share) if metric == "top_share_recall" else None
            b = lgb.train(params, dtr, num_boost_round=max_rounds, valid_sets=[dva],
                          feval=feval, callbacks=[lgb.early_stopping(es, verbose=False)])
            m = b.predict(X[va], raw_score=True, num_iteration=b.best_iteration)
            iters.append(b.best_iteration or max_rounds)
            aps.append(average_precision_score(y[va], m))
            tops.append(top_share_recall(y[va], m, dates[va], share))
            margins.append(m)
        score = float(np.mean(tops if metric == "top_share_recall" else aps))
        results.append({"trial": trial, "score": score, "ap": float(np.mean(aps)),
                        "fold_ap": aps, "fold_top_share_recall": tops,
                        "best_iterations": iters, "margins": margins})
        log(f"trial {i + 1}: {trial} mean AP {np.mean(aps):.4f}, top {share:.1%} recall "
            f"{np.mean(tops):.3f}, rounds {iters}")
    best = max(results, key=lambda r: r["score"])
    va_all = np.concatenate([f[2].nonzero()[0] for f in fold_data])
    oof = np.concatenate(best["margins"])
    calibrator = cal_mod.choose(calibration, oof, y[va_all], dates[va_all])
    rounds = max(10, int(np.ceil(np.mean(best["best_iterations"]))))
    params = _params(spec, best["trial"], monotone, seed)
    params.pop("metric", None)
    model = CohortModel(params, num_boost_round=rounds, calibrator=calibrator, seed=seed)
    keep = w > 0
    model.fit(frame.loc[keep, features], y[keep], sample_weight=w[keep])
    info = {
        "hyperparameters": {**best["trial"], "num_boost_round": rounds},
        "selection": {"metric": metric, "share": share},
        "search": [{k: r[k] for k in ("trial", "score", "ap", "fold_ap",
                                      "fold_top_share_recall", "best_iterations")}
                   for r in results],
        "folds": [{"train_from": str(t[0]), "train_to": str(t[-1]), "n_train_snapshots": len(t),
                   "validate": [str(v) for v in vv]} for t, vv in fold_list],
        "calibration": calibrator,
        "negative_sample": negative_sample,
        "training_rows": int(len(y)),
        "training_rows_used": int(keep.sum()),
        "training_positives": int(y.sum()),
        "monotone_constraints": dict(zip(features, monotone or [0] * len(features), strict=True)),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return model, info
