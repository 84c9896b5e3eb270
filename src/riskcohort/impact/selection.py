"""Which ranking did the team cut? The selection score and each person's rank within the month.

Why: a team that manages "its top K each quarter" cuts a ranking at a threshold, so the people it
just picked and the people it just did not pick are the natural comparison (a regression
discontinuity at the cut-off). That needs the ranking. The team's rule is rarely written down,
so every ranking the engine can rebuild at the month start is a candidate: the incumbent's score
(``baseline_scores``), each rule score, and a score *learned* from the picks themselves (an
out-of-fold gradient-boosted classifier of "picked this month" on the point-in-time indicators
and those scores, folds by person so a person's own pick never sets their score). The candidate
whose within-month top ``n`` (``n`` = the month's new management starts) reproduces the most
picks is used; that agreement is reported, because where no ranking reproduces the picks the
team chose on something the extract does not hold, and the estimate can be biased.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

#: named rankings the team may have used (``modelling.baselines`` columns), in reporting order
NAMED = ("incumbent", "iteration_2", "matac_rfgv", "v100_harm", "dash_dara")
LEARNED = "learned"
PREFER_NAMED = 0.02  #: a named ranking is kept unless the learned one holds 2 points more picks
TOP_REGION = 20  #: unpicked rows kept per month for the learned score: the top TOP_REGION x picks
SAMPLE_REST = 20_000  #: plus this many of the rest (weighted back), so it sees the whole range


def month_rank(score: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Rank within the month, 1 = highest score (ties share their average rank; NaN last)."""
    s = pd.Series(np.where(np.isfinite(score), score, -np.inf))
    return s.groupby(month).rank(ascending=False, method="average").to_numpy()


def agreement(score: np.ndarray, picked: np.ndarray, month: np.ndarray) -> float:
    """Share of the picks that the score's within-month top ``n`` holds (n = picks that month).

    1.0 means the team cut exactly this ranking; a share near ``n / candidates`` means the
    ranking has nothing to do with the team's choice."""
    rank = month_rank(score, month)
    n = pd.Series(picked.astype(int)).groupby(month).transform("sum").to_numpy()
    hit = picked & (rank <= n + 0.5)
    return float(hit.sum() / max(picked.sum(), 1))


def learned_score(x: pd.DataFrame, picked: np.ndarray, month: np.ndarray, groups: np.ndarray,
                  prefilter: np.ndarray, seed: int = 0, folds: int = 3) -> np.ndarray:
    """Out-of-fold logit of P(picked | what the team saw), one value per row.

    Fitted on every pick, the unpicked rows nearest the top of the month by ``prefilter`` (where
    the cut is decided) and a weighted random sample of the rest. One thread: OpenMP's spinning
    threads slow small fits many times on a busy machine."""
    xv = x.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    n_pick = pd.Series(picked.astype(int)).groupby(month).transform("sum").to_numpy()
    near = ~picked & (month_rank(prefilter, month) <= TOP_REGION * np.maximum(n_pick, 1))
    out = np.full(len(x), np.nan)
    with threadpool_limits(1):
        for train, test in GroupKFold(n_splits=folds).split(xv, picked, groups):
            pos = train[picked[train]]
            top = train[near[train]]
            rest = train[~picked[train] & ~near[train]]
            take = rng.choice(rest, min(SAMPLE_REST, len(rest)), replace=False)
            back = len(rest) / max(len(take), 1)
            rows = np.concatenate([pos, top, take])
            w = np.concatenate([np.ones(len(pos) + len(top)), np.full(len(take), back)])
            model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08,
                                                   max_leaf_nodes=15, min_samples_leaf=20,
                                                   l2_regularization=1.0, random_state=seed)
            model.fit(xv[rows], picked[rows].astype(int), sample_weight=w)
            p = np.clip(model.predict_proba(xv[test])[:, 1], 1e-9, 1 - 1e-9)
            out[test] = np.log(p / (1 - p))
    return out


def choose(snap: pd.DataFrame, x: pd.DataFrame, picked: np.ndarray, month: np.ndarray,
           groups: np.ndarray, seed: int = 0, rule: str = "auto"
           ) -> tuple[str, np.ndarray, dict[str, float]]:
    """(name, score, agreement of every candidate) of the ranking the estimate cuts.

    ``rule="auto"`` takes the candidate with the highest agreement; the learned score only when
    it reproduces clearly more picks (by more than ``PREFER_NAMED``) than every named ranking, so
    a ranking the force really has is used as it is. A named ``rule`` forces it.
    """
    named = {c: snap[c].to_numpy(dtype=float) for c in NAMED if c in snap}
    if rule not in ("auto", LEARNED) and rule not in named:
        raise UserError(f"option --selection: rule selection_available: no {rule!r} score at the "
                        f"month starts; rankings present: {', '.join([*named, LEARNED])}")
    scores = dict(named)
    if rule in ("auto", LEARNED):
        pre = np.nanmax(np.column_stack([month_rank(v, month) * -1.0 for v in named.values()]),
                        axis=1) if named else np.zeros(len(snap))
        scores[LEARNED] = learned_score(x, picked, month, groups, pre, seed=seed)
    agree = {k: round(agreement(v, picked, month), 4) for k, v in scores.items()}
    if rule != "auto":
        return rule, scores[rule], agree
    best_named = max((agree[k] for k in named), default=-1.0)
    if LEARNED in agree and agree[LEARNED] > best_named + PREFER_NAMED:
        name = LEARNED
    else:
        name = max(named, key=lambda k: agree[k])
    logger.info("selection ranking %s (agreement %.2f)", name, agree[name])
    return name, scores[name], agree
