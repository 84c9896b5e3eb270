"""Which ranking did the team cut? The selection score and each person's rank within the month.

Why: a team that manages "its top K each quarter" cuts a ranking at a threshold, so the people it
just picked and the people it just did not pick are the natural comparison (a regression
discontinuity at the cut-off). That needs the ranking. The team's rule is rarely written down,
so every ranking the engine can rebuild at the month start is a candidate: the incumbent's score
(``baseline_scores``), each rule score, and a score *learned* from the picks themselves (an
out-of-fold gradient-boosted classifier of "picked this month" on the point-in-time indicators
and those scores, folds by person so a person's own pick never sets their score). The candidate
whose within-month top ``n`` (``n`` = the month's new management starts) reproduces the most
of the month's picks is used, month by month; that agreement is reported, because where no
ranking reproduces the picks the team chose on something the extract does not hold, and the
estimate can be biased (``estimate`` leaves such months out of the primary estimate).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from riskcohort import display
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
    return pooled(month_agreement(score, picked, month))


def pooled(per_month: pd.DataFrame) -> float:
    """The agreement over all months of a :func:`month_agreement` table."""
    return float(per_month["hits"].sum() / max(int(per_month["n_picks"].sum()), 1))


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


def month_agreement(score: np.ndarray, picked: np.ndarray, month: np.ndarray,
                    rank: np.ndarray | None = None) -> pd.DataFrame:
    """Per month: the picks (``n_picks``), how many the score's top ``n`` holds (``hits``) and
    their share (``agreement``), in month order. ``rank``: the score's :func:`month_rank`, when
    the caller has it."""
    rank = month_rank(score, month) if rank is None else rank
    n = pd.Series(picked.astype(int)).groupby(month).transform("sum").to_numpy()
    hit = picked & (rank <= n + 0.5)
    g = pd.DataFrame({"month": month, "hits": hit, "n_picks": picked}).groupby(
        "month", sort=True).sum()
    g["agreement"] = g["hits"] / g["n_picks"].clip(lower=1)
    return g


def _pick(agree: dict[str, float], named: list[str]) -> str:
    """The tie/learned rule: the named ranking with the highest agreement (ties: the first in
    ``NAMED`` order), unless the learned one holds more than ``PREFER_NAMED`` more picks."""
    best = max(named, key=lambda k: agree[k]) if named else LEARNED
    if LEARNED in agree and (not named or agree[LEARNED] > agree[best] + PREFER_NAMED):
        return LEARNED
    return best


def label(by_month: list[dict]) -> str:
    """One readable name for the rankings used: ``learned``, or ``learned (11 months) and
    incumbent (5 months)`` when months differ."""
    used = pd.Series([m["ranking"] for m in by_month]).value_counts()
    if len(used) == 1:
        return str(used.index[0])
    return display.and_list([f"{k} ({v} month{'s' if v != 1 else ''})"
                             for k, v in used.items()])


def choose(snap: pd.DataFrame, x: pd.DataFrame, picked: np.ndarray, month: np.ndarray,
           groups: np.ndarray, seed: int = 0, rule: str = "auto"
           ) -> tuple[np.ndarray, np.ndarray, dict[str, float], list[dict]]:
    """The ranking the estimate cuts, chosen **per month**: (within-month rank of every row,
    the chosen ranking's score standardised within the month, pooled agreement of every
    candidate, one entry per month).

    Why per month: what the team's rule read can be in the extract for some months and not for
    others (a rule that reads three years of history, an incumbent score that starts late), so
    the ranking that reproduces the picks best can change over time, and how well it does is a
    property of the month. ``rule="auto"`` takes, in each month, the candidate whose top ``n``
    holds the most of that month's picks (the learned score only when it holds more than
    ``PREFER_NAMED`` more than every named ranking, so a ranking the force really has is used
    as it is). A named ``rule`` or ``learned`` forces it in every month. Each month's entry is
    ``{month, ranking, agreement, n_picks}``; the pooled ``agreement`` of each candidate over
    all months is reported as before.
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
    ranks = {k: month_rank(v, month) for k, v in scores.items()}
    per = {k: month_agreement(v, picked, month, ranks[k]) for k, v in scores.items()}
    agree = {k: round(pooled(per[k]), 4) for k in scores}
    rank = np.full(len(snap), np.nan)
    z = np.full(len(snap), np.nan)
    by_month = []
    for m in per[next(iter(per))].index:
        a = {k: float(per[k].at[m, "agreement"]) for k in scores}
        name = rule if rule != "auto" else _pick(a, list(named))
        rows = month == m
        rank[rows] = ranks[name][rows]
        v = scores[name][rows]
        sd = np.nanstd(v) if np.isfinite(v).any() else 0.0
        z[rows] = (v - np.nanmean(v)) / sd if sd > 0 else 0.0
        by_month.append({"month": str(pd.Timestamp(m).date()), "ranking": name,
                         "agreement": round(a[name], 4),
                         "n_picks": int(per[name].at[m, "n_picks"])})
    logger.info("selection rankings per month: %s", label(by_month))
    return rank, z, agree, by_month
