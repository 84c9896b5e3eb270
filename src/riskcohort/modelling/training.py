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

The estimator (:class:`riskcohort.modelling.model.CohortModel`) owns the fitted state; this module
holds the steps it chains (folds, search, refit), each a plain function that can be tested alone.
``fit`` is kept as the frame-level entry point used by the run: it builds the estimator from the
experiment settings and returns it with the record of every choice.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from riskcohort.errors import UserError
from riskcohort.modelling.config import selection

logger = logging.getLogger(__name__)

#: Determinism switches added to every LightGBM call (results must not depend on the run).
DETERMINISTIC = {"deterministic": True, "force_row_wise": True, "verbose": -1}
CV_SCHEMES = ("rolling_origin", "expanding", "stratified")

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
    """Indicator columns used as model inputs (never labels, keys, protected attributes or
    intervention-role indicators: what the force did is not risk, issue 17; a method that
    needs management adds its own column, ``modelling.treatment``)."""
    from riskcohort.features.catalogue import names_with_role

    drop = set(exclude) | set(names_with_role("intervention"))
    return [c for c in frame.columns if c not in NON_FEATURES and c not in PROTECTED
            and c not in drop and pd.api.types.is_numeric_dtype(frame[c])]


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


def lgb_params(spec: dict, trial: dict, monotone: list[int] | None, seed: int) -> dict:
    """LightGBM parameters of one trial: fixed ones, the trial, constraints, seeds, determinism."""
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


def group_rows(groups: np.ndarray) -> list[np.ndarray]:
    """Row positions of each group, groups in sorted order, rows in their original order.

    Why: early stopping evaluates :func:`top_share_recall` after every boosting round; finding
    the groups (snapshot dates, an object array) each time sorted the whole validation fold in
    Python objects - about 2 s a round on a national fold of 1.3 M rows, hours over a search.
    """
    codes, _ = pd.factorize(np.asarray(groups), sort=True)
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if len(order) else []


def top_share_recall(y: np.ndarray, margin: np.ndarray, groups: np.ndarray,
                     share: float = 0.01, weight: np.ndarray | None = None, *,
                     rows: list[np.ndarray] | None = None) -> float:
    """Share of the positives caught in the top ``share`` of each group (validation snapshot).

    Why: the team acts on the top of the ranking, not on its bulk. Log loss and average
    precision are dominated by the ~99% of people far from any cohort, so choosing rounds and
    hyperparameters by them under-fits the top (measured: docs/modelling.md). 1% of a snapshot
    (~1,000 people on the force preset) holds ~30 positives, far less noisy than a top 100.

    ``weight``: each row stands for that many people (sampled validation negatives,
    ``modelling.trainset``): the top share is then the top ``share`` of the weighted
    population, and positives are counted by weight. Unit weights give the unweighted figure.
    ``rows``: :func:`group_rows` of ``groups``, when the caller evaluates the same groups often.

    >>> top_share_recall(np.array([1, 0, 0, 1, 0, 0]), np.array([.9, .1, .2, .1, .8, .3]),
    ...                  np.array([0, 0, 0, 1, 1, 1]), share=0.34)
    0.5
    >>> top_share_recall(np.array([1, 0, 0, 1, 0, 0]), np.array([.9, .1, .2, .1, .8, .3]),
    ...                  np.array([0, 0, 0, 1, 1, 1]), share=0.34, weight=np.ones(6))
    0.5
    """
    caught, total = 0.0, 0.0
    for m in (group_rows(groups) if rows is None else rows):
        mg = margin[m]
        if weight is None:
            k = max(1, int(round(share * len(m))))
            caught += y[m][_top_order(mg, k)[:k]].sum()
            total += y[m].sum()
            continue
        wg = weight[m]
        target = round(share * float(wg.sum()))
        w_min = float(wg.min()) if len(wg) else 0.0
        order = _top_order(mg, int(target / w_min) + 2 if w_min > 0 else len(mg))
        cum = np.cumsum(wg[order])
        k = max(1, int(np.searchsorted(cum, target, side="right")))
        top = order[:k]
        caught += float((y[m][top] * wg[top]).sum())
        total += float((y[m] * wg).sum())
    return float(caught / total) if total else float("nan")


def _top_order(margin: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest margins, and every tie with the ``k``-th, highest first
    and ties in row order: the first ``k`` of a stable descending sort, without sorting the
    rest (the top 1% is all the metric reads; a full sort each round was most of its cost)."""
    n = len(margin)
    if k >= n:
        return np.argsort(-margin, kind="stable")
    kth = np.partition(margin, n - k)[n - k]
    candidates = np.flatnonzero(margin >= kth)
    return candidates[np.argsort(-margin[candidates], kind="stable")]


def _feval(y_va: np.ndarray, groups: np.ndarray, share: float, weight=None):
    """LightGBM eval function (higher is better) for early stopping on the top share; the
    groups are found once, not after every round."""
    rows = group_rows(groups)

    def top_share(preds, _data):
        return ("top_share_recall",
                top_share_recall(y_va, preds, groups, share, weight, rows=rows), True)
    return top_share


def take(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``a[mask]``, as a view (no copy) when the selected rows are one contiguous run.

    Why: folds select whole snapshots of rows sorted by date, so a fold's training rows are a
    prefix and its validation rows a block; slicing them costs nothing, where a boolean index
    would copy the national training matrix (GBs) once per fold.

    >>> a = np.arange(10)
    >>> v = take(a, a >= 4)
    >>> v.tolist(), bool(np.shares_memory(v, a))
    ([4, 5, 6, 7, 8, 9], True)
    """
    idx = np.flatnonzero(mask)
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return a[idx[0]: idx[-1] + 1]
    return a[mask]


def validation_weight(w: np.ndarray) -> np.ndarray | None:
    """Weights for validation rows: None (every row counts once, as always) unless some row
    stands for more or less than one person (sampled validation negatives, inverse-probability
    weights); then rows with weight 0 (censored) still count once, as they do unweighted."""
    if np.all((w == 0) | (w == 1)):
        return None
    return np.where(w > 0, w, 1.0)


@dataclass
class Split:
    """One validation fold: boolean row masks, the snapshot of each validation row (the top
    share is taken per snapshot) and a time key (the calibrator is chosen on later keys)."""

    train: np.ndarray
    valid: np.ndarray
    groups: np.ndarray
    time_key: np.ndarray
    record: dict = field(default_factory=dict)


def _snapshot_dates(groups) -> np.ndarray:
    return pd.to_datetime(pd.Series(np.asarray(groups))).dt.date.to_numpy()


def require_folds(snapshots, horizon_days: int, n_folds: int, block: int, min_train: int):
    """:func:`folds` of ``snapshots``, or a ``UserError`` saying what is missing when there are
    none. Called on the snapshot dates before any indicator is built (a national training set
    takes many minutes to build) and again on the training rows."""
    fold_list = folds(sorted(snapshots), horizon_days, n_folds, block, min_train)
    if not fold_list:
        need = min_train + block + horizon_days // 28
        raise UserError(
            f"modelling: rule 'enough snapshots for time-ordered validation': "
            f"{len(set(snapshots))} training snapshots, need about {need} monthly snapshots (at "
            f"least {min_train} training + {block} validation, {horizon_days} days apart); use "
            "an earlier data start, a later --as-of, or lower "
            "training.min_train_snapshots/cv_block_months"
        )
    return fold_list


def rolling_origin_splits(groups, y: np.ndarray, horizon_days: int, n_folds: int, block: int,
                          min_train: int) -> list[Split]:
    """Folds by snapshot date with a horizon gap (module doc); UserError when there are none."""
    dates = _snapshot_dates(groups)
    fold_list = require_folds(sorted(set(dates)), horizon_days, n_folds, block, min_train)
    out = []
    for train_d, val_d in fold_list:
        tr, va = np.isin(dates, train_d), np.isin(dates, val_d)
        if y[tr].sum() == 0 or y[va].sum() == 0:
            continue
        out.append(Split(tr, va, dates[va], dates[va],
                         {"train_from": str(train_d[0]), "train_to": str(train_d[-1]),
                          "n_train_snapshots": len(train_d),
                          "validate": [str(v) for v in val_d]}))
    return out


def row_splits(scheme: str, y: np.ndarray, order, n_folds: int, seed: int) -> list[Split]:
    """Folds for data without snapshots: ``expanding`` (sorted by ``order``, each fold trains
    on everything before its validation block) or ``stratified`` (shuffled, class-balanced)."""
    from sklearn.model_selection import StratifiedKFold

    n = len(y)
    pairs = []
    if scheme == "expanding":
        ranked = np.argsort(np.asarray(order) if order is not None else np.arange(n),
                            kind="stable")
        size = n // (n_folds + 1)
        for i in range(1, n_folds + 1):
            end = size * (i + 1) if i < n_folds else n
            pairs.append((ranked[: size * i], ranked[size * i: end]))
    else:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        pairs = list(splitter.split(np.zeros(n), y))
    out = []
    for i, (tr_idx, va_idx) in enumerate(pairs):
        tr, va = np.zeros(n, bool), np.zeros(n, bool)
        tr[tr_idx], va[va_idx] = True, True
        if len(np.unique(y[tr])) < 2 or y[va].sum() == 0:
            continue
        out.append(Split(tr, va, np.zeros(int(va.sum()), int), np.full(int(va.sum()), i),
                         {"scheme": scheme, "fold": i, "n_train": int(tr.sum()),
                          "n_validate": int(va.sum())}))
    return out


def _dataset(X, y, w, names, spec, categorical=()):
    """Binned once per fold and reused by every trial (pre-filtering off so trials may differ
    in ``min_child_samples``)."""
    keep = w > 0
    params = {"feature_pre_filter": False, "verbose": -1,
              "max_bin": spec.get("fixed", {}).get("max_bin", 255)}
    return lgb.Dataset(take(X, keep), label=y[keep], weight=w[keep], feature_name=names,
                       categorical_feature=list(categorical) or "auto", free_raw_data=False,
                       params=params)


@dataclass
class SearchResult:
    """The chosen trial and rounds, the out-of-fold margins of that trial, and the record."""

    trial: dict
    rounds: int
    oof_margin: np.ndarray
    oof_y: np.ndarray
    oof_time: np.ndarray
    results: list[dict]
    metric: str
    share: float
    oof_weight: np.ndarray | None = None


def search(X: np.ndarray, y: np.ndarray, w: np.ndarray, splits: list[Split], names: list[str],
           spec: dict, monotone: list[int] | None, seed: int,
           categorical: list[str] | tuple = ()) -> SearchResult:
    """Every trial on every fold with early stopping; the best mean ``[selection]`` metric wins,
    its rounds are the mean of its folds' best iterations."""
    if not splits:
        raise UserError("modelling: rule 'positives in every fold': no validation fold has both "
                        "outcomes; the dataset is too small for time-ordered validation")
    fixed = spec.get("fixed", {})
    max_rounds = int(fixed.get("max_rounds", 1000))
    es = int(fixed.get("early_stopping_rounds", 50))
    metric, share = selection(spec)
    candidates = trials(spec, seed)
    # one fold's binned data at a time (fold-outer), every trial on it: the same boosters as
    # trial-outer, without holding every fold's bins at once (national: GBs each)
    per_trial: list[list[tuple]] = [[] for _ in candidates]
    valid_w = [validation_weight(w[s.valid]) for s in splits]
    # validation sets reuse the training bins on purpose; LightGBM warns about that each time
    warnings.filterwarnings("ignore", message="Overriding the parameters from Reference")
    for s, vw in zip(splits, valid_w, strict=True):
        xv, yv = take(X, s.valid), y[s.valid]
        dtr = _dataset(take(X, s.train), y[s.train], w[s.train], names, spec, categorical)
        dva = lgb.Dataset(xv, label=yv, weight=vw, reference=dtr, feature_name=names)
        for i, trial in enumerate(candidates):
            params = lgb_params(spec, trial, monotone, seed)
            if metric == "top_share_recall":
                params["metric"] = "None"
            feval = _feval(yv, s.groups, share, vw) if metric == "top_share_recall" else None
            b = lgb.train(params, dtr, num_boost_round=max_rounds, valid_sets=[dva],
                          feval=feval, callbacks=[lgb.early_stopping(es, verbose=False)])
            m = np.asarray(b.predict(xv, raw_score=True, num_iteration=b.best_iteration))
            auc = (float(roc_auc_score(yv, m, sample_weight=vw)) if 0 < yv.sum() < len(yv)
                   else float("nan"))
            per_trial[i].append((b.best_iteration or max_rounds,
                                 float(average_precision_score(yv, m, sample_weight=vw)), auc,
                                 top_share_recall(yv, m, s.groups, share, vw), m))
            del b
        del dtr, dva, xv
    results: list[dict[str, Any]] = []
    for i, trial in enumerate(candidates):
        iters, aps, aucs, tops, margins = (list(v) for v in zip(*per_trial[i], strict=True))
        score = float(np.mean(tops if metric == "top_share_recall" else aps))
        results.append({"trial": trial, "score": score, "ap": float(np.mean(aps)),
                        "fold_ap": aps, "fold_auc": aucs, "fold_top_share_recall": tops,
                        "best_iterations": iters, "margins": margins})
        logger.info("trial %d: %s mean AP %.4f, top %.1f%% recall %.3f, rounds %s", i + 1, trial,
                    np.mean(aps), 100 * share, np.mean(tops), iters)
    best = max(results, key=lambda r: r["score"])
    weighted = any(v is not None for v in valid_w)
    return SearchResult(
        trial=best["trial"], rounds=max(10, int(np.ceil(np.mean(best["best_iterations"])))),
        oof_margin=np.concatenate(best["margins"]),
        oof_y=np.concatenate([y[s.valid] for s in splits]),
        oof_time=np.concatenate([s.time_key for s in splits]),
        results=[{k: v for k, v in r.items() if k != "margins"} for r in results],
        metric=metric, share=share,
        oof_weight=(np.concatenate([np.ones(int(s.valid.sum())) if v is None else v
                                    for s, v in zip(splits, valid_w, strict=True)])
                    if weighted else None))


def train_booster(X: np.ndarray, y: np.ndarray, w: np.ndarray, names: list[str], params: dict,
                  rounds: int, categorical: list[str] | tuple = ()) -> lgb.Booster:
    """One booster with fixed rounds on the rows with positive weight."""
    keep = w > 0
    ds = lgb.Dataset(take(X, keep), label=y[keep], weight=w[keep], feature_name=names,
                     categorical_feature=list(categorical) or "auto", free_raw_data=True)
    return lgb.train(params, ds, num_boost_round=rounds)


def subsample_members(X: np.ndarray, y: np.ndarray, w: np.ndarray, names: list[str],
                      params: dict, rounds: int, n_members: int, share: float, seed: int,
                      clusters=None, categorical: list[str] | tuple = ()) -> list[lgb.Booster]:
    """Boosters on ``share``-sized subsamples (without replacement) for per-person intervals.

    Why subsamples of a fifth: five members on 20% each cost about one full fit. Sampling is by
    cluster (person) when given, so a person's snapshots stay together. The spread of these
    members estimates the spread of a fit on ``share * n`` rows; ``interval_scale`` converts it
    to the full-sample fit (subsampling variance, Politis, Romano & Wolf 1999).
    """
    rng = np.random.default_rng(seed + 7919)
    keys = np.asarray(clusters) if clusters is not None else np.arange(len(y))
    uniq, inverse = np.unique(keys, return_inverse=True)
    out = []
    for i in range(n_members):
        chosen = rng.random(len(uniq)) < share
        take = chosen[inverse]
        if y[take & (w > 0)].sum() == 0:  # a tiny sample without positives cannot train
            continue
        member_params = {**params, **{k: seed + 1000 * (i + 1) for k in
                                      ("seed", "bagging_seed", "feature_fraction_seed",
                                       "data_random_seed")}}
        out.append(train_booster(X[take], y[take], w[take], names, member_params, rounds,
                                 categorical))
    return out


def interval_scale(share: float) -> float:
    """Factor from a ``share``-subsample fit's spread to the full fit's: ``sqrt(m / (n - m))``.

    >>> round(interval_scale(0.2), 3)
    0.5
    """
    return float(np.sqrt(share / (1.0 - share)))


def fit(frame: pd.DataFrame, features: list[str], spec: dict, *, horizon_days: int,
        seed: int = 0, negative_sample: float = 1.0, n_folds: int = 3, block: int = 2,
        min_train: int = 2, calibration: str = "auto", monotone: list[int] | None = None,
        log=None, sample_weight: np.ndarray | None = None, matrix=None):
    """Fit a :class:`CohortModel` on snapshot rows; returns it and its record of every choice.

    ``frame`` holds the training snapshots only (already leakage-guarded by the caller), with
    ``as_of`` (the snapshot date: rolling-origin folds) and ``person_id`` (interval subsamples
    keep a person's rows together). ``log`` is accepted for older callers; progress goes to
    ``logging``. ``sample_weight``: the frame was already sampled (``modelling.trainset``: rows
    sorted by as_of and person_id, these are their weights); the estimator then samples nothing
    more and its record keeps the configured ``negative_sample``.

    ``matrix``: ``(X, names)``, the model inputs already as one matrix, row for row with
    ``frame`` (a :class:`~riskcohort.modelling.trainset.TrainingSet`'s ``X`` and ``features``).
    When ``features`` equals ``names`` it is passed to the estimator as it is (no copy; float32
    stays float32); a feature not in ``names`` (an added treatment column) is taken from
    ``frame``, which then costs one copy.
    """
    from riskcohort.modelling.model import CohortModel

    presampled = sample_weight is not None
    if not presampled:
        frame = frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)
    model = CohortModel(spec=spec, monotone=monotone, horizon_days=horizon_days,
                        negative_sample=1.0 if presampled else negative_sample, n_folds=n_folds,
                        block=block, min_train=min_train, calibration=calibration, seed=seed)
    # interval subsamples group by person: integer codes in sorted-id order (the same groups
    # and draws as the ids themselves, without millions of strings)
    clusters = pd.factorize(frame["person_id"].astype(str), sort=True)[0]
    if matrix is None:
        model.fit(frame[features], frame[LABEL], groups=frame["as_of"], clusters=clusters,
                  sample_weight=sample_weight)
    else:
        X, names = matrix
        names = list(names)
        if list(features) != names:
            X = np.column_stack([X[:, names.index(c)] if c in names
                                 else frame[c].to_numpy(dtype=X.dtype) for c in features])
        model.fit(X, frame[LABEL].to_numpy(), groups=frame["as_of"].to_numpy(),
                  clusters=clusters, sample_weight=sample_weight,
                  feature_names=list(features))
    if presampled:
        model.selection_["negative_sample"] = negative_sample
        model.selection_["sampled_before_fit"] = True
    if log is not None:
        log(f"chose {model.selection_['hyperparameters']} in "
            f"{model.selection_['seconds']} s")
    return model, model.selection_
