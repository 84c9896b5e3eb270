"""Latent traits of perpetrators: the hidden causes behind both the records and the harm.

Why latent traits: a ranking model can only be judged if we know what it *should* find. Each
perpetrator gets a dangerousness ``d`` (drives serious harm most), a volume ``v`` (drives how
often low-level abuse happens, only weakly tied to ``d``), a control/obsession ``c`` (stalking,
coercive control, breaches, separation-triggered escalation) and binary traits (strangles,
suicidal, weapons/firearms access, substances, mental health). The recorded signals reflect these
only partially and noisily, so true risk stays well above what any model on records can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Relationship kinds of a perpetrator's first victim (familial share ~28% of DA, documented).
KINDS = ("intimate", "family_parent_child", "family_child_parent", "family_sibling", "family_other")
KIND_P = (0.72, 0.05, 0.12, 0.07, 0.04)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Traits:
    """Arrays of length n (one entry per perpetrator)."""

    d: np.ndarray
    v: np.ndarray
    c: np.ndarray
    strangler: np.ndarray
    suicidal: np.ndarray
    weapons: np.ndarray
    firearms: np.ndarray
    alcohol: np.ndarray
    drugs: np.ndarray
    mental: np.ndarray
    sex: np.ndarray  # 0 female, 1 male, 2 unknown
    ethnicity: np.ndarray  # index into ETHNICITIES
    age: np.ndarray  # age in years at entry
    kind: np.ndarray  # index into KINDS of the first relationship
    entry: np.ndarray  # month index (from simulation start) of the first DA incident
    chronic: np.ndarray  # a minority with long, frequent abuse careers
    mu: np.ndarray  # baseline monthly rate of DA incidents (occurring)
    beta: np.ndarray  # self-excitation: extra rate per unit of recent incidents


ETHNICITIES = ("white", "asian", "black", "mixed", "other", "unknown")
ETHNICITY_P = (0.80, 0.07, 0.05, 0.035, 0.02, 0.025)


def draw(rng: np.random.Generator, n: int, n_months: int) -> Traits:
    """Draw ``n`` perpetrators entering uniformly over the simulated months."""
    z = rng.standard_normal((3, n))
    d = z[0]
    v = 0.25 * d + np.sqrt(1 - 0.25**2) * z[1]
    c = 0.55 * d + np.sqrt(1 - 0.55**2) * z[2]
    u = rng.random((9, n))
    chronic = u[8] < _sig(-3.3 + 1.2 * v)
    sex = np.where(u[0] < 0.795, 1, np.where(u[0] < 0.985, 0, 2))
    kind = np.searchsorted(np.cumsum(KIND_P), rng.random(n) * 0.999999)
    intimate = kind == 0
    strangler = u[1] < _sig(-2.9 + 1.0 * d + 0.5 * c + 0.5 * intimate)
    suicidal = u[2] < _sig(-3.2 + 0.7 * d)
    weapons = u[3] < _sig(-2.9 + 0.8 * d)
    firearms = u[4] < _sig(-4.6 + 0.6 * d)
    alcohol = u[5] < _sig(-1.0 + 0.3 * v)
    drugs = u[6] < _sig(-1.6 + 0.4 * v)
    mental = u[7] < _sig(-2.0 + 0.3 * d + 1.0 * suicidal)
    age = np.clip(rng.gamma(9.0, 3.9, n), 16, 85)
    age = np.where(kind == 2, np.clip(age * 0.75, 16, 60), age)
    return Traits(
        d=d,
        v=v,
        c=c,
        strangler=strangler,
        suicidal=suicidal,
        weapons=weapons,
        firearms=firearms,
        alcohol=alcohol,
        drugs=drugs,
        mental=mental,
        sex=sex,
        ethnicity=np.searchsorted(np.cumsum(ETHNICITY_P), rng.random(n) * 0.999999),
        age=age,
        kind=kind,
        entry=rng.integers(0, n_months, n),
        chronic=chronic,
        mu=np.where(chronic, np.exp(-3.0 + 1.0 * v), np.exp(-6.0 + 0.5 * v)),
        beta=0.03 + 0.3 * _sig(2.5 * c - 3.0),
    )
