"""A small contract dataset (typed dict of tables) with a known risk structure.

Each perpetrator has a hidden risk ``r``: it raises both how often they come to police notice and
the chance an incident is serious harm, so past indicators (counts, harm, recency) carry signal
about future serious harm - enough for a model to beat chance, small enough to build in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

START, END = pd.Timestamp("2019-01-01"), pd.Timestamp("2023-12-31")
OFFENCES = ["common_assault", "harassment", "abh", "criminal_damage", "coercive_control"]


def make_dataset(n: int = 700, seed: int = 0, serious_scale: float = 1.0) -> dict:
    rng = np.random.default_rng(seed)
    pid = [f"p{i:05d}" for i in range(n)]
    vid = [f"v{i:05d}" for i in range(n)]
    r = rng.lognormal(0.0, 0.9, n)
    days = (END - START).days
    rows = []
    for i in range(n):
        k = rng.poisson(0.6 * r[i] * days / 365)
        t = np.sort(rng.integers(0, days, k))
        serious = rng.random(k) < np.clip(0.02 * r[i] ** 1.5 * serious_scale, 0, 0.6)
        for j in range(k):
            off = "gbh" if serious[j] else OFFENCES[int(rng.integers(len(OFFENCES)))]
            occ = START + pd.Timedelta(days=int(t[j]), hours=int(rng.integers(0, 24)))
            rec = occ + pd.Timedelta(days=int(rng.integers(0, 3)))
            rows.append((pid[i], vid[i], off, occ, rec))
    inc = pd.DataFrame(rows, columns=["perpetrator_id", "victim_id", "offence", "occurred_at",
                                      "recorded_at"])
    m = len(inc)
    inc.insert(0, "incident_id", [f"i{j:06d}" for j in range(m)])
    inc["relationship_id"] = None
    inc["domestic"] = pd.array(rng.random(m) < 0.9, dtype="boolean")
    for col in ("weapon", "injury", "order_id"):
        inc[col] = None
    for col in ("children_present", "alcohol", "drugs"):
        inc[col] = pd.array([pd.NA] * m, dtype="boolean")
    persons = pd.DataFrame({
        "person_id": pid + vid,
        "birth_date": START - pd.to_timedelta(rng.integers(18 * 365, 60 * 365, 2 * n), "D"),
        "sex": ["male"] * n + ["female"] * n,
        "ethnicity": ["white"] * (2 * n),
        "death_date": pd.NaT,
    })
    return {"persons": persons, "incidents": inc}


@pytest.fixture(scope="session")
def tables():
    return make_dataset()


@pytest.fixture(scope="session")
def dataset_factory():
    """``make_dataset`` for tests that need several variants."""
    return make_dataset
