"""Which offence an incident is recorded as, and how likely police are to record it.

Why trait-dependent offence mixes: the recorded offence is where latent traits leak into the
data (strangulation from stranglers, threats to kill from the dangerous, stalking and coercive
control from the controlling, especially after separation). Recording probability is higher for
severe offences and lower in relationships where the victim rarely reports (isolation).
"""

from __future__ import annotations

import numpy as np

DA_KINDS = (
    "non_crime", "common_assault", "abh", "strangulation", "threats_to_kill", "stalking",
    "harassment", "coercive_control", "criminal_damage", "sexual_offence", "public_order",
    "theft", "drugs", "weapons_possession", "other",
)  # fmt: skip
SH_KINDS = ("gbh", "gbh_with_intent", "attempted_murder", "homicide")
NON_DA_KINDS = (
    "theft", "criminal_damage", "public_order", "drugs", "common_assault", "abh",
    "weapons_possession", "other", "gbh",
)  # fmt: skip
NON_DA_P = np.array([0.26, 0.14, 0.16, 0.12, 0.12, 0.06, 0.04, 0.095, 0.005])

# logit bonus on the victim's reporting propensity (severe offences are recorded more often)
RECORD_BONUS = {
    "non_crime": 0.0, "common_assault": 0.1, "abh": 0.9, "strangulation": 0.6,
    "threats_to_kill": 0.5, "stalking": 0.2, "harassment": 0.0, "coercive_control": -0.3,
    "criminal_damage": 0.1, "sexual_offence": 0.2, "breach_of_order": 0.8, "public_order": 0.3,
    "theft": 0.0, "drugs": 0.0, "weapons_possession": 0.8, "other": 0.0,
}  # fmt: skip
SH_RECORD_P = {"gbh": 0.93, "gbh_with_intent": 0.96, "attempted_murder": 0.98, "homicide": 1.0}


def da_weights(tr, idx, intimate, sep_s) -> np.ndarray:
    """Unnormalised offence weights (rows x DA_KINDS) for ordinary DA incidents."""
    d, c = tr.d[idx], tr.c[idx]
    st, wp = tr.strangler[idx], tr.weapons[idx]
    iv = intimate.astype(float)
    one = np.ones(len(idx))
    cols = [
        1.4 * one,
        1.6 * one,
        0.3 * np.exp(0.7 * d),
        st * (0.9 * iv + 0.25 * (1 - iv)) * np.exp(0.3 * d) + 0.005,
        0.05 * np.exp(1.0 * d + 0.4 * c),
        0.04 * np.exp(1.2 * c) * (1 + 4 * sep_s) * iv + 0.003,
        0.3 * np.exp(0.5 * c) * (1 + 2 * sep_s),
        0.1 * np.exp(1.2 * c) * iv + 0.01,
        0.6 * one,
        0.03 * np.exp(0.7 * d) * iv + 0.003,
        0.3 * one,
        0.12 * one,
        0.03 * one,
        0.01 + 0.15 * wp,
        0.2 * one,
    ]
    return np.column_stack(cols)


def categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Draw one column index per row with probability proportional to ``weights``."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (cum < u[:, None]).sum(axis=1)


def sh_kind(rng: np.random.Generator, tr, idx) -> np.ndarray:
    """Index into SH_KINDS per serious-harm event (dangerousness and firearms raise homicide)."""
    ph = 0.0022 * np.exp(0.5 * tr.d[idx]) * (1 + 2 * tr.firearms[idx])
    ph = ph * (1 + 1.5 * (tr.strangler[idx] & tr.suicidal[idx]))
    ph = np.minimum(ph, 0.25)
    rest = 1 - ph
    w = np.column_stack([0.55 * rest, 0.33 * rest, 0.12 * rest, ph])
    return categorical(rng, w)


def recording_lag_days(rng: np.random.Generator, n: int, severe: np.ndarray) -> np.ndarray:
    """Days from occurring to police knowing: mostly hours, some weeks, ~7% months (historic)."""
    u = rng.random(n)
    hours = rng.exponential(4.0, n) / 24.0
    weeks = rng.uniform(1, 30, n)
    late = 30 + rng.gamma(1.3, 70, n)
    p_late = np.where(severe, 0.02, 0.075)
    p_weeks = np.where(severe, 0.05, 0.17)
    return np.where(u < p_late, late, np.where(u < p_late + p_weeks, weeks, hours))
