"""DASH/DARA risk assessments: noisy answers and an officer's grade, weakly predictive by design.

Why weak: published evaluations find DASH grades little better than chance (Turner, Medina &
Brown 2019; AUC 0.55-0.67 in force data). So each answer is a noisy, partly-missing reflection of
the latent traits at the time (strangles, suicidal, controlling, separated, escalating), and the
grade adds officer noise on top of a simple count of "yes" answers. Individual answers still carry
some signal a model can use; the grade alone carries little.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.contract.schema import ASSESSMENT_QUESTIONS
from riskcohort.simulate.records import boolcol, ids, ts

# answers officers weigh double when grading (the "red flags")
KEY = {"q_strangulation", "q_threats_to_kill", "q_weapon", "q_separation", "q_perpetrator_suicidal",
       "q_stalking"}
DARA_FROM = np.datetime64("2022-04-01").astype(np.int64)


def _sig(x):
    return 1 / (1 + np.exp(-x))


# Marginal yes-rates of the default ("mixed") world, used as constants by the "noise" scenario.
NOISE_RATES = {
    "q_frightened": 0.45, "q_isolated": 0.25, "q_victim_suicidal": 0.07, "q_separation": 0.2,
    "q_child_contact_conflict": 0.12, "q_stalking": 0.12, "q_pregnancy_infant": 0.06,
    "q_escalating": 0.2, "q_controlling_jealous": 0.35, "q_weapon": 0.07,
    "q_threats_to_kill": 0.08, "q_strangulation": 0.08, "q_sexual_abuse": 0.08,
    "q_perpetrator_suicidal": 0.09, "q_substance_misuse": 0.3, "q_mental_health": 0.12,
    "q_financial_problems": 0.2,
}  # fmt: skip
GRADE_NOISE_SD = {"mixed": 1.8, "informative": 1.2, "noise": 1.8}


def answers(tr, perp, code_off, sep_s, exc, rng, dash: str = "mixed") -> dict[str, np.ndarray]:
    """Probability-of-yes for every question, per assessed incident.

    ``dash`` is the scenario's assumption about what the answers reflect: ``mixed`` (default:
    some items reflect latent traits or state, others are yes at a constant rate), ``informative``
    (every item is tied to the latent causes of harm, more strongly), ``noise`` (no item says
    anything about the person; injury and breach follow the recorded offence)."""
    if dash == "informative":
        return _informative(tr, perp, code_off, sep_s, exc)
    d, c, m = tr.d[perp], tr.c[perp], len(perp)
    if dash == "noise":
        out = {q: np.full(m, r) for q, r in NOISE_RATES.items()}
        out["q_injury"] = np.where(_serious(code_off) | (code_off == "strangulation"), 0.8, 0.15)
        out["q_breach_of_order"] = np.where(code_off == "breach_of_order", 0.85, 0.05)
        # items that record a specific past act still reflect it (fact 6 needs strangulation)
        out["q_strangulation"] = np.where(tr.strangler[perp], 0.6, 0.04)
        out["q_threats_to_kill"] = _sig(-3.0 + 1.3 * d + 0.3 * c)
        out["q_weapon"] = np.where(tr.weapons[perp], 0.45, 0.05)
        return out
    serious = _serious(code_off)
    return {
        "q_injury": np.where(serious | (code_off == "strangulation"), 0.8, _sig(-2.0 + 0.6 * d)),
        "q_frightened": _sig(-0.2 + 0.8 * d),
        "q_isolated": _sig(-1.2 + 0.6 * c),
        "q_victim_suicidal": np.full(m, 0.07),
        "q_separation": np.where(sep_s > 0.3, 0.85, 0.12),
        "q_child_contact_conflict": np.full(m, 0.12),
        "q_stalking": _sig(-2.2 + 0.8 * c + 2.0 * sep_s),
        "q_pregnancy_infant": np.full(m, 0.06),
        "q_escalating": _sig(-1.8 + 0.45 * exc + 0.5 * d),
        "q_controlling_jealous": _sig(-0.8 + 0.9 * c),
        "q_weapon": np.where(tr.weapons[perp], 0.45, 0.05),
        "q_threats_to_kill": _sig(-3.0 + 1.3 * d + 0.3 * c),
        "q_strangulation": np.where(tr.strangler[perp], 0.6, 0.04),
        "q_sexual_abuse": _sig(-2.6 + 0.3 * d),
        "q_perpetrator_suicidal": np.where(tr.suicidal[perp], 0.7, 0.05),
        "q_breach_of_order": np.where(code_off == "breach_of_order", 0.85, 0.05),
        "q_substance_misuse": np.where(tr.alcohol[perp] | tr.drugs[perp], 0.55, 0.1),
        "q_mental_health": np.where(tr.mental[perp], 0.5, 0.08),
        "q_financial_problems": np.full(m, 0.2),
    }


def _serious(code_off):
    return np.isin(code_off, ["gbh", "gbh_with_intent", "attempted_murder", "abh"])


def _informative(tr, perp, code_off, sep_s, exc) -> dict[str, np.ndarray]:
    """Every item tied to the latent causes (dangerousness, control, state); none is a cause."""
    d, c, v = tr.d[perp], tr.c[perp], tr.v[perp]
    return {
        "q_injury": np.where(_serious(code_off) | (code_off == "strangulation"), 0.85,
                             _sig(-2.0 + 0.8 * d)),
        "q_frightened": _sig(-0.6 + 1.2 * d + 0.5 * c),
        "q_isolated": _sig(-1.5 + 1.1 * c),
        "q_victim_suicidal": _sig(-3.2 + 0.7 * d + 0.7 * c),
        "q_separation": np.where(sep_s > 0.3, 0.9, 0.08),
        "q_child_contact_conflict": _sig(-2.6 + 2.5 * sep_s + 0.5 * c),
        "q_stalking": _sig(-2.4 + 1.1 * c + 2.2 * sep_s),
        "q_pregnancy_infant": _sig(-3.0 + 0.6 * d),
        "q_escalating": _sig(-2.0 + 0.6 * exc + 0.7 * d),
        "q_controlling_jealous": _sig(-1.0 + 1.4 * c),
        "q_weapon": np.where(tr.weapons[perp], 0.6, _sig(-3.2 + 0.5 * d)),
        "q_threats_to_kill": _sig(-3.0 + 1.5 * d + 0.4 * c),
        "q_strangulation": np.where(tr.strangler[perp], 0.75, 0.03),
        "q_sexual_abuse": _sig(-2.8 + 0.9 * d + 0.5 * c),
        "q_perpetrator_suicidal": np.where(tr.suicidal[perp], 0.8, 0.04),
        "q_breach_of_order": np.where(code_off == "breach_of_order", 0.9, 0.04),
        "q_substance_misuse": np.where(tr.alcohol[perp] | tr.drugs[perp], 0.65, 0.08),
        "q_mental_health": np.where(tr.mental[perp], 0.6, 0.06),
        "q_financial_problems": _sig(-1.8 + 0.4 * v + 0.6 * tr.drugs[perp] + 0.3 * d),
    }


def assessments(tr, inc_frame: pd.DataFrame, perp, sep_s, exc, block, rng,
                dash: str = "mixed") -> pd.DataFrame:
    """One assessment for ~70% of recorded domestic incidents (with a victim)."""
    dom = inc_frame["domestic"].to_numpy(dtype=bool) & inc_frame["victim_id"].notna().to_numpy()
    pick = np.flatnonzero(dom & (rng.random(len(inc_frame)) < 0.7))
    f = inc_frame.iloc[pick]
    p = perp[pick]
    off = f["offence"].to_numpy()
    probs = answers(tr, p, off, sep_s[pick], exc[pick], rng, dash)
    m = len(pick)
    yes = {q: rng.random(m) < probs[q] for q in ASSESSMENT_QUESTIONS}
    missing = {q: rng.random(m) < 0.06 for q in ASSESSMENT_QUESTIONS}
    score = sum((1 + 2 * (q in KEY)) * (yes[q] & ~missing[q]) for q in ASSESSMENT_QUESTIONS)
    if dash == "noise":  # the officer weighs the recent history the record shows
        score = score + 0.8 * np.minimum(exc[pick], 5.0)
    score = score + rng.normal(0, GRADE_NOISE_SD[dash], m) + 1.5 * np.isin(
        off, ["gbh", "gbh_with_intent", "attempted_murder", "strangulation"])
    grade = np.where(score >= 10.0, "high", np.where(score >= 6.0, "medium", "standard"))
    at = f["recorded_at"].to_numpy().astype("datetime64[s]").astype(np.int64) / 86400.0
    at = at + rng.uniform(0.05, 2.0, m)
    tool = np.where(at < DARA_FROM, "dash",
                    np.where(rng.random(m) < 0.9, "dara", np.where(rng.random(m) < 0.5,
                                                                   "dash", "other")))
    out = pd.DataFrame({
        "assessment_id": ids("A", block, np.arange(m)),
        "incident_id": f["incident_id"].to_numpy(),
        "assessed_at": ts(at),
        "victim_id": f["victim_id"].to_numpy(),
        "perpetrator_id": f["perpetrator_id"].to_numpy(),
        "tool": tool.astype(object),
        "grade": grade.astype(object),
    })
    for q in ASSESSMENT_QUESTIONS:
        out[q] = boolcol(yes[q], missing[q])
    return out
