"""Bias detection at equal true risk: are some groups selected more than others *at the same risk*?

Why: different selection rates between groups are expected when base rates differ, so raw rates
cannot tell bias from need. What the force must rule out is a group being put in the cohort more
(or less) often than other people whose real risk is the same, e.g. because that group's minor
incidents are recorded more often (more recorded history -> higher score, same danger). This is
only measurable where the true risk is known: the synthetic force's oracle
(``_truth/risk.parquet``), or in a backtest a well-founded proxy. The check is indirect
standardisation (as for a standardised mortality ratio): people are put in strata of true risk; a
group's *expected* selections are its members in each stratum times that stratum's overall
selection rate; the ratio observed / expected is 1 when the group is treated like everyone else at
the same risk. A normal approximation to the sum of Bernoulli variables gives a z statistic; a
group is flagged only if it has enough members, the ratio is outside 0.8-1.25 and the difference is
very unlikely to be chance (two-sided p below ``alpha`` divided by the number of groups).

>>> import pandas as pd
>>> f = pd.DataFrame({"g": ["a", "b"] * 200, "risk": [i / 400 for i in range(400)],
...                   "in_cohort": [1 if i >= 300 else 0 for i in range(400)]})
>>> t = equal_risk(f, "g", risk_col="risk", min_members=10)
>>> t["ratio"].round(2).tolist(), t["flag"].tolist()
([1.0, 1.0], [False, False])
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskcohort.governance.fairness import FLAG_HIGH, FLAG_LOW, MIN_MEMBERS, UNKNOWN

N_STRATA = 20
ALPHA = 0.01
REVIEW_SHARE = 0.02  # the wider look of by_system: the top 2% of each ranking (statistical power)
SYSTEM_ATTRIBUTES = ("ethnicity", "sex")  # attributes the by-system comparison covers


def strata(risk: pd.Series, n_strata: int = N_STRATA) -> pd.Series:
    """Quantile strata of true risk (ties merged, so fewer strata when risk has few values)."""
    return pd.qcut(risk.rank(method="first"), q=n_strata, labels=False, duplicates="drop")


def equal_risk(frame: pd.DataFrame, group_col: str, risk_col: str = "true_risk",
               selected_col: str = "in_cohort", n_strata: int = N_STRATA,
               min_members: int = MIN_MEMBERS, alpha: float = ALPHA,
               low: float = FLAG_LOW, high: float = FLAG_HIGH,
               score_col: str | None = None) -> pd.DataFrame:
    """One row per group: members, selected, expected at equal true risk, ratio, z, p, flag.

    With ``score_col``, also ``rank_shift``: the group's mean score percentile minus that of
    everyone in the same true-risk stratum (percentile points; > 0 = ranked higher than people
    of the same risk) and its z. It uses every member, not only the selected, so it shows score
    inflation before it is large enough to change who is selected; it is reported, not flagged.
    Rows without a true risk are left out (counted in ``attrs["dropped"]``).
    """
    cols = [group_col, risk_col, selected_col] + ([score_col] if score_col else [])
    f = frame[list(dict.fromkeys(cols))].copy()
    dropped = int(f[risk_col].isna().sum())
    f = f[f[risk_col].notna()]
    f["_g"] = f[group_col].astype("string").fillna(UNKNOWN)
    f["_s"] = strata(f[risk_col].astype(float), n_strata)
    f["_sel"] = f[selected_col].astype(float)
    rate = f.groupby("_s")["_sel"].transform("mean")
    f["_exp"], f["_var"] = rate, rate * (1 - rate)
    if score_col:
        pct = f[score_col].astype(float).rank(pct=True) * 100
        f["_shift"] = pct - pct.groupby(f["_s"]).transform("mean")
    else:
        f["_shift"] = np.nan
    g = f.groupby("_g").agg(members=("_sel", "size"), selected=("_sel", "sum"),
                            expected=("_exp", "sum"), var=("_var", "sum"),
                            mean_true_risk=(risk_col, "mean"), rank_shift=("_shift", "mean"),
                            shift_sd=("_shift", "std"))
    n_groups = len(g)
    rows = []
    for name, r in g.iterrows():
        ratio = r.selected / r.expected if r.expected > 0 else np.nan
        z = (r.selected - r.expected) / math.sqrt(r["var"]) if r["var"] > 0 else 0.0
        p = math.erfc(abs(z) / math.sqrt(2))
        enough = r.members >= min_members and r.expected >= 5
        flag = bool(enough and np.isfinite(ratio) and (ratio < low or ratio > high)
                    and p < alpha / max(n_groups, 1))
        rows.append({"attribute": group_col, "group": name, "members": int(r.members),
                     "selected": _count(r.selected), "expected": float(r.expected),
                     "ratio": float(ratio), "z": float(z), "p_value": float(p),
                     "mean_true_risk": float(r.mean_true_risk),
                     "rank_shift": float(r.rank_shift),
                     "rank_z": float(r.rank_shift / (r.shift_sd / math.sqrt(r.members)))
                     if r.shift_sd and r.shift_sd > 0 else float("nan"),
                     "small": not enough,
                     "flag": flag})
    out = pd.DataFrame(rows)
    out.attrs.update(dropped=dropped, n_strata=int(f["_s"].nunique()), alpha=alpha)
    return out


def _count(x: float) -> float | int:
    """Selections as an int, or a float when a tied group at the cut-off was shared out."""
    return int(x) if float(x).is_integer() else float(x)


def flags(table: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows of an :func:`equal_risk` or :func:`by_system` table, with a sentence."""
    out = table[table["flag"]].copy()
    where = (
        [f"{r.system} top {r.cohort}: " for r in out.itertuples()]
        if "system" in out else [""] * len(out))
    out["reason"] = [
        f"{w}{r.attribute}={r.group} selected {r.ratio:.2f} x as often as people of the same "
        f"true risk (observed {r.selected}, expected {r.expected:.1f}, p={r.p_value:.1g})"
        for w, r in zip(where, out.itertuples(), strict=True)]
    return out.reset_index(drop=True)


def top_k_share(score, k: int) -> np.ndarray:
    """Each person's selection in the top ``k`` of ``score`` (NaN = unscored, never selected).

    A tied group at the cut-off gets the fraction of it that fits (the expectation under random
    tie-breaking, as in the backtest metrics), so rule baselines with many equal scores are not
    judged on an arbitrary row order.

    >>> top_k_share([3.0, 2.0, 2.0, float("nan")], 2).tolist()
    [1.0, 0.5, 0.5, 0.0]
    """
    s = np.asarray(score, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    _, inv, counts = np.unique(-s, return_inverse=True, return_counts=True)
    before = np.cumsum(counts) - counts
    share = np.clip((k - before) / counts, 0.0, 1.0)[inv]
    return np.where(np.isneginf(s), 0.0, share)


def cutoffs(n: int, k: int, share: float = REVIEW_SHARE) -> list[int]:
    """The run's cohort ``k`` and, when larger, the top ``share`` of the ``n`` people scored."""
    wide = int(round(share * n))
    return [int(k)] + ([wide] if wide > k else [])


def by_system(frame: pd.DataFrame, systems: Mapping[str, str], k: int,
              attributes=SYSTEM_ATTRIBUTES, risk_col: str = "true_risk",
              alpha: float = ALPHA, share: float = REVIEW_SHARE) -> pd.DataFrame:
    """The equal-true-risk check for every ranking of the same people (model and baselines).

    Why: recording bias enters through the records, so a ranking built on *volume* (counts,
    harm sums, recency-frequency) carries it straight into the cohort, while one that leans on
    severity markers may not. Comparing the model with the rules the force uses today shows
    both whether the model is biased and whether it is less biased than what it replaces.
    ``systems`` maps a name to a score column of ``frame``; each is cut at the run's ``k`` and at
    the top ``share`` (a cohort of 100 has too few members of a small group to judge). ``alpha``
    is shared out over every look (systems x cut-offs) and, inside :func:`equal_risk`, over the
    groups, so more looks do not mean more false flags.
    """
    ks = cutoffs(len(frame), k, share)
    looks = max(len(systems) * len(ks), 1)
    attrs = [a for a in attributes if a in frame]
    tables = []
    f = frame[[risk_col, *attrs]].copy()
    for name, col in systems.items():
        for cut in ks:
            f["_selected"] = top_k_share(frame[col].to_numpy(dtype=float), cut)
            for a in attrs:
                t = equal_risk(f, a, risk_col=risk_col, selected_col="_selected",
                               alpha=alpha / looks)
                t.insert(0, "system", name)
                t.insert(1, "cohort", cut)
                tables.append(t)
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    out.attrs.update(cutoffs=ks, looks=looks, alpha=alpha)
    return out
