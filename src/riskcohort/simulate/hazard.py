"""The serious-harm hazard: one formula shared by the simulation and the truth (oracle) file.

Why one function: ``_truth/risk.parquet`` must be the probability the generator actually used,
not a re-estimate. The month-by-month simulation calls :func:`monthly` with the current state;
:func:`project_12m` calls the same formula for the next 12 months with the state's expected path
(excitation and separation effects decaying, custody known, desistance and future separations as
expectations), which is an accurate approximation of P(serious harm within 365 days).

Structure (why serious harm concentrates at the top): a log-linear dangerousness term times
*multiplicative* triggers - recent separation, release from custody, recent abuse (self-excitation)
- and interactions that only bite when several signals co-occur (strangler x separated x suicidal),
so harm is not a linear function of incident count.
"""

from __future__ import annotations

import numpy as np

from riskcohort.simulate.scenarios import SCENARIOS, Scenario

DEFAULT = SCENARIOS["default"]
DECAY = 0.55  # monthly decay of the excitation state (recent-abuse memory)
TAU_SEP = 7.0  # months: decay of the post-separation trigger
TAU_REL = 3.0  # months: decay of the post-release trigger
SH_BASE = DEFAULT.sh_base  # monthly serious-harm hazard at the population centre (default)
KAPPA = DEFAULT.kappa  # serious-harm multiplier per unit of excitation (default scenario)
SEP_BASE, SEP_AFTER_INCIDENT = 0.012, 0.05  # monthly separation probability (intimate)
DESIST_BASE, DESISTED_MULT = 0.06, 0.2
SH_RECORDED = 0.95  # average recording probability of a serious-harm incident


def static_log(tr, sc: Scenario = DEFAULT) -> np.ndarray:
    """Time-invariant part of log hazard: dangerousness and risky traits."""
    return (
        np.log(sc.sh_base)
        + sc.d_coef * tr.d
        - 0.02 * (tr.age - 35.0)
        + sc.strangler_coef * tr.strangler
        + sc.suicidal_coef * tr.suicidal
        + 0.3 * tr.weapons
        + 0.4 * tr.firearms
        + np.where(tr.kind == 0, 0.0, -0.25)
    )


def trigger_mult(tr, E, sep_s, rel_s, sc: Scenario = DEFAULT):
    """Multiplicative triggers; ``sep_s``/``rel_s`` in [0, 1] are decayed recency of events.

    ``sc.separation`` scales the separation trigger and its interactions (weak-separation
    scenario); ``sc.kappa`` is how much recent abuse raises serious harm (self-exciting vs
    latent-trait scenarios)."""
    sep_amp = sc.separation * (2.2 + 1.5 / (1.0 + np.exp(-tr.c)))  # controlling: more escalation
    st, su = tr.strangler, tr.suicidal
    inter = 1.0 + sc.separation * sep_s * (3.0 * st + 1.5 * su + 20.0 * st * su)
    return (1.0 + sc.kappa * E) * (1.0 + sep_amp * sep_s) * inter * (1.0 + 2.5 * rel_s)


def monthly(static, tr, E, sep_s, rel_s, active, sc: Scenario = DEFAULT) -> np.ndarray:
    """Monthly serious-harm hazard (occurring) of free perpetrators, without any intervention."""
    return (np.exp(static) * trigger_mult(tr, E, sep_s, rel_s, sc)
            * np.where(active, 1.0, DESISTED_MULT))


def desist_prob(tr) -> np.ndarray:
    """Monthly probability that an active perpetrator desists (latent, never recorded)."""
    return np.where(tr.chronic, 0.4, 1.0) * DESIST_BASE * np.exp(-0.3 * tr.v - 0.2 * tr.d)


def project_12m(m, static, tr, E, sep_month, custody_until, active, partnered, intimate,
                sc: Scenario = DEFAULT):
    """P(recorded serious harm in months m..m+11) for the given perpetrators' state at m.

    Never includes an intervention: the truth is the risk *without* management, which is what a
    ranking for the next iteration should estimate."""
    q = desist_prob(tr)
    ebar = tr.mu / np.maximum(1.0 - DECAY - tr.beta, 0.05)
    p_sep = SEP_BASE + SEP_AFTER_INCIDENT * (1.0 - np.exp(-tr.mu))
    p_sep = np.where(partnered & intimate, p_sep, 0.0)
    total = np.zeros(len(static))
    fut = np.zeros(len(static))
    for k in range(12):
        mk = m + k
        dk = DECAY**k
        e_k = E * dk + ebar * (1.0 - dk)
        sep_s = np.exp(-(mk - sep_month) / TAU_SEP) + fut
        since = mk - custody_until - 1
        rel_s = np.where((custody_until >= 0) & (since >= 0), np.exp(-since / TAU_REL), 0.0)
        act = np.where(active, (1.0 - q) ** k, 0.0)
        h = np.exp(static) * trigger_mult(tr, e_k, np.minimum(sep_s, 1.0), rel_s, sc)
        h = h * (act + (1.0 - act) * DESISTED_MULT)
        total += np.where(custody_until >= mk, 0.0, h)
        fut = fut * np.exp(-1.0 / TAU_SEP) + p_sep * (1.0 - fut)
    return 1.0 - np.exp(-total * SH_RECORDED)
