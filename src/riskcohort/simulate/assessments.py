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


def answers(tr, perp, code_off, sep_s, exc, rng) -> dict[str, np.ndarray]:
    """Probability-of-yes for every question, per assessed incident."""
    d, c, m = tr.d[perp], tr.c[perp], len(perp)
    serious = np.isin(code_off, ["gbh", "gbh_with_intent", "attempted_murder", "abh"])
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


def assessments(tr, inc_frame: pd.DataFrame, perp, sep_s, exc, block, rng) -> pd.DataFrame:
    """One assessment for ~70% of recorded domestic incidents (with a victim)."""
    dom = inc_frame["domestic"].to_numpy(dtype=bool) & inc_frame["victim_id"].notna().to_numpy()
    pick = np.flatnonzero(dom & (rng.random(len(inc_frame)) < 0.7))
    f = inc_frame.iloc[pick]
    p = perp[pick]
    off = f["offence"].to_numpy()
    probs = answers(tr, p, off, sep_s[pick], exc[pick], rng)
    m = len(pick)
    yes = {q: rng.random(m) < probs[q] for q in ASSESSMENT_QUESTIONS}
    missing = {q: rng.random(m) < 0.06 for q in ASSESSMENT_QUESTIONS}
    score = sum((1 + 2 * (q in KEY)) * (yes[q] & ~missing[q]) for q in ASSESSMENT_QUESTIONS)
    score = score + rng.normal(0, 1.8, m) + 1.5 * np.isin(off, ["gbh", "gbh_with_intent",
                                                         "attempted_murder", "strangulation"])
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
