"""When a challenger replaces the champion: one pure rule, its evidence and its write-up.

The rule protects the teams relying on the cohort: a new model takes over only if it is not
worse at finding the people who go on to cause serious harm - the paired bootstrap interval of
(challenger - champion) recall@k does not lie entirely below 0 - and its probabilities can be
read at face value (ECE below a threshold, calibration slope within a range). Both models are
scored on the same backtest window and the same resamples, so the interval is paired.

Stricter evidence (issue 18), each checked when its input is given and *noted* when it is not:

- calibration where it matters, in the top k: observed / expected serious harm among the k
  highest scores, with an exact Poisson interval that must cover 1 (ECE over a 0.4% base rate
  says little about the people a team actually manages);
- fairness: no (attribute, group) flagged for the challenger that is not flagged for the champion
  (equal-risk selection ratios and within-group calibration of the governance audit);
- drift: the largest PSI of the model's inputs between the champion's data and the new data
  below a configured limit (default 0.25, the usual "major shift").

Passing the evidence does not move the champion: the decision's ``status`` is
``awaiting approval`` until a person signs (``riskcohort approve``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

DEFAULT_ECE_MAX = 0.01  # same target the modelling summary checks
DEFAULT_SLOPE_RANGE = (0.8, 1.2)
DEFAULT_PSI_MAX = 0.25  # "major shift" in the usual reading of PSI (governance.drift)
AWAITING = "awaiting approval"
FIRST = "first model: champion"
KEEP = "kept the champion"


@dataclass
class PromotionDecision:
    """The verdict and every number behind it (logged as tags, metrics and markdown)."""

    promote: bool
    reasons: list[str]
    k: int
    recall_diff: float = math.nan
    recall_diff_lo: float = math.nan
    recall_diff_hi: float = math.nan
    ece: float = math.nan
    slope: float = math.nan
    ece_max: float = DEFAULT_ECE_MAX
    slope_range: tuple[float, float] = DEFAULT_SLOPE_RANGE
    champion_version: int | None = None
    challenger_version: int | None = None
    extra: dict = field(default_factory=dict)
    status: str = KEEP
    topk_observed: float = math.nan
    topk_expected: float = math.nan
    topk_ratio_lo: float = math.nan
    topk_ratio_hi: float = math.nan
    new_fairness_flags: list[str] = field(default_factory=list)
    psi_max_value: float = math.nan
    psi_max: float = DEFAULT_PSI_MAX
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def poisson_ratio_interval(observed: float, expected: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of observed / expected for a Poisson count.

    >>> [round(v, 2) for v in poisson_ratio_interval(10, 10)]
    [0.48, 1.84]
    """
    from scipy.stats import chi2

    if not expected > 0:
        return math.nan, math.nan
    lo = 0.0 if observed <= 0 else chi2.ppf(0.025, 2 * observed) / 2
    hi = chi2.ppf(0.975, 2 * (observed + 1)) / 2
    return float(lo) / expected, float(hi) / expected


def topk_calibration(y, p, k: int) -> tuple[float, float]:
    """(observed, expected) serious harm among the ``k`` highest probabilities."""
    import numpy as np

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].sum()), float(p[top].sum())


def fairness_keys(fairness: dict | None) -> set[str] | None:
    """``attribute=group`` flagged in a run's ``fairness.json`` (None when absent)."""
    if not fairness:
        return None
    keys = set()
    for name in ("flags", "equal_risk_flags"):
        for row in fairness.get(name) or []:
            if row.get("attribute") is not None:
                keys.add(f"{row['attribute']}={row.get('group')}")
    for row in fairness.get("equal_risk_by_system_flags") or []:
        if row.get("system", "model") == "model":
            keys.add(f"{row.get('attribute')}={row.get('group')}")
    return keys


def decide_promotion(recall_diff: tuple[float, float, float] | None, ece: float, slope: float,
                     *, k: int = 100, ece_max: float = DEFAULT_ECE_MAX,
                     slope_range: tuple[float, float] = DEFAULT_SLOPE_RANGE,
                     champion_exists: bool = True,
                     topk: tuple[float, float] | None = None,
                     fairness: tuple[set | None, set | None] | None = None,
                     psi_max_value: float | None = None,
                     psi_max: float = DEFAULT_PSI_MAX) -> PromotionDecision:
    """Decide whether the challenger becomes champion.

    ``recall_diff`` is (value, lo, hi) of challenger minus champion recall@k (paired bootstrap);
    ``ece`` and ``slope`` are the challenger's calibration on the backtest window.

    >>> decide_promotion((0.01, -0.03, 0.05), ece=0.005, slope=1.0).promote
    True
    >>> decide_promotion((-0.08, -0.12, -0.04), ece=0.005, slope=1.0).reasons[0]
    'recall@100 worse than the champion: difference -0.080 [-0.120, -0.040] lies below 0'
    """
    d, lo, hi = recall_diff if recall_diff is not None else (math.nan,) * 3
    out = PromotionDecision(False, [], k, d, lo, hi, ece, slope, ece_max,
                            (slope_range[0], slope_range[1]))
    out.psi_max = psi_max
    calibration_ok = _stricter(out, k, topk, fairness, psi_max_value, psi_max)
    if not (ece < ece_max):  # NaN fails too
        calibration_ok = False
        out.reasons.append(f"calibration: ECE {ece:.4f} is not below {ece_max}")
    if not (slope_range[0] <= slope <= slope_range[1]):
        calibration_ok = False
        out.reasons.append(f"calibration: slope {slope:.2f} outside "
                           f"{slope_range[0]}-{slope_range[1]}")
    if not champion_exists:
        out.promote = True  # the first model becomes champion (its calibration is recorded)
        out.status = FIRST
        out.reasons.insert(0, "no champion yet: the first model becomes champion")
        return out
    if math.isnan(hi):
        out.reasons.insert(0, f"recall@{k}: no paired interval (is this a backtest?)")
    elif hi < 0:
        out.reasons.insert(0, f"recall@{k} worse than the champion: difference {d:.3f} "
                              f"[{lo:.3f}, {hi:.3f}] lies below 0")
    else:
        out.reasons.insert(0, f"recall@{k} not worse than the champion: difference {d:.3f} "
                              f"[{lo:.3f}, {hi:.3f}]")
        out.promote = calibration_ok
        out.status = AWAITING if out.promote else KEEP
    if calibration_ok:
        out.reasons.append(f"calibration passes: ECE {ece:.4f} < {ece_max}, slope {slope:.2f}")
    return out


def _stricter(out: PromotionDecision, k: int, topk, fairness, psi_value, psi_max) -> bool:
    """Top-k calibration, fairness vs the champion and drift; reasons and notes; passes?"""
    ok = True
    if topk is None:
        out.notes.append(f"calibration in the top {k}: not available (not checked)")
    else:
        o, e = topk
        out.topk_observed, out.topk_expected = float(o), float(e)
        out.topk_ratio_lo, out.topk_ratio_hi = poisson_ratio_interval(o, e)
        shown = (f"observed {o:.0f} vs expected {e:.1f} serious harm in the top {k} (ratio "
                 f"95% interval {out.topk_ratio_lo:.2f}-{out.topk_ratio_hi:.2f})")
        if out.topk_ratio_lo <= 1 <= out.topk_ratio_hi:
            out.reasons.append(f"top-{k} calibration passes: {shown}")
        else:
            ok = False
            out.reasons.append(f"top-{k} calibration fails: {shown} does not cover 1")
    chall, champ = fairness if fairness is not None else (None, None)
    if chall is None or champ is None:
        which = "challenger" if chall is None else "champion"
        out.notes.append(f"fairness vs the champion: no fairness.json for the {which} "
                         "(run `riskcohort governance` on its run folder); not checked")
    else:
        out.new_fairness_flags = sorted(set(chall) - set(champ))
        if out.new_fairness_flags:
            ok = False
            out.reasons.append("fairness: flagged for the challenger but not the champion: "
                               + ", ".join(out.new_fairness_flags))
        else:
            out.reasons.append(f"fairness: no flag the champion does not have "
                               f"({len(chall)} flags vs {len(champ)})")
    if psi_value is None or not math.isfinite(psi_value):
        out.notes.append("drift (PSI) between the champion's data and the new data: not "
                         "available (not checked)")
    else:
        out.psi_max_value = float(psi_value)
        if psi_value < psi_max:
            out.reasons.append(f"drift: largest input PSI {psi_value:.3f} below {psi_max}")
        else:
            ok = False
            out.reasons.append(f"drift: largest input PSI {psi_value:.3f} is not below "
                               f"{psi_max}: the people scored now differ from those trained on")
    return ok


def _verdict(decision: PromotionDecision) -> str:
    if decision.status == AWAITING:
        approved = decision.extra.get("approved")
        if approved:
            return f"PROMOTED to champion ({approved})"
        return ("evidence passes: AWAITING APPROVAL (the champion moves only with `riskcohort "
                f"approve {decision.challenger_version or 'VERSION'} --by NAME --note TEXT`)")
    if decision.status == FIRST or decision.promote:
        return "PROMOTE to champion (first model)" if decision.status == FIRST else "PROMOTE"
    return "KEEP the current champion"


def _data_changes(changes: dict | None) -> list[str]:
    if not changes:
        return ["- not available (the champion's data or the new data are not dataset versions "
                "with changes.json, and no comparison was run)"]
    flips = changes.get("label_flips") or []
    up = sum(1 for f in flips if f.get("new") == 1 and f.get("old") != 1)
    down = sum(1 for f in flips if f.get("old") == 1 and f.get("new") != 1)
    changed = changes.get("reclassified") or []
    columns = ", ".join(sorted({c["column"] for c in changed})) or "-"
    out = [f"- {len(changed)} reclassified fields ({columns})",
           f"- {len(flips)} training labels flip ({up} to serious harm, {down} away from it) "
           f"for {len({f['person_id'] for f in flips})} people"]
    for name, c in (changes.get("counts") or {}).items():
        if any(c.values()):
            out.append(f"- {name}: {c['added']} added, {c['replaced']} replaced, "
                       f"{c['removed']} removed")
    return out


def markdown(decision: PromotionDecision, dry_run: bool = False) -> str:
    """The short write-up logged with the challenger run (``promotion.md``)."""
    lo_s, hi_s = decision.slope_range
    lines = [
        f"# Promotion decision: {_verdict(decision)}"
        + (" (dry run, nothing changed)" if dry_run else ""),
        "",
        f"- champion version: {decision.champion_version or 'none'}; "
        f"challenger version: {decision.challenger_version or 'not registered'}",
        f"- recall@{decision.k} challenger - champion: {decision.recall_diff:.3f} "
        f"(95% paired bootstrap interval {decision.recall_diff_lo:.3f} to "
        f"{decision.recall_diff_hi:.3f})",
        f"- challenger ECE {decision.ece:.4f} (must be < {decision.ece_max}); calibration slope "
        f"{decision.slope:.2f} (must be within {lo_s}-{hi_s})",
        "",
        "Reasons:",
        *[f"- {r}" for r in decision.reasons],
    ]
    if decision.notes:
        lines += ["", "Not checked:", *[f"- {n}" for n in decision.notes]]
    if decision.extra.get("auto_approved"):
        lines += ["", "AUTO-APPROVED with --auto-approve: for the demo only; no person signed."]
    lines += ["", "What changed in the data since the champion:",
              *_data_changes(decision.extra.get("data_changes")), "",
              "Rule: the evidence passes only if the paired interval of recall@k does not lie "
              "entirely below 0, calibration passes (overall and in the top k), no new fairness "
              "flag and drift below the limit; even then the champion moves only when a person "
              "approves. The cohort supports a human decision; it never makes one."]
    return "\n".join(lines) + "\n"
