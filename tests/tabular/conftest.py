"""A generated person-level table with known structure, as a force might hold one.

The label is driven by two columns (``prior_incidents`` and ``strangulation``) plus noise;
``outcome_copy`` is a leak (the label with 0.5% flips), ``person_ref`` is the declared id and
``case_number`` another identifier-like column, ``seen_on``
a date, ``ethnicity`` a protected column and ``dash_score`` an existing tool's score that carries
only part of the signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_table(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    prior = rng.poisson(1.5, n)
    strangulation = rng.random(n) < 0.15
    noise = rng.normal(0, 1, n)
    logit = -3.2 + 0.55 * prior + 1.6 * strangulation + 0.3 * noise
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    leak = np.where(rng.random(n) < 0.005, 1 - label, label)
    when = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 900, n)), "D")
    return pd.DataFrame({
        "person_ref": [f"P{i:06d}" for i in range(n)],
        "case_number": rng.permutation(n) + 100000,
        "prior_incidents": prior,
        "strangulation": np.where(strangulation, "yes", "no"),
        "area": rng.choice(["north", "south", "east", "west", "rare1"], n,
                           p=[0.3, 0.3, 0.2, 0.197, 0.003]),
        "noise": noise.round(3),
        "seen_on": (when - pd.to_timedelta(rng.integers(0, 400, n), "D")).strftime("%Y-%m-%d"),
        "referral_date": when.strftime("%Y-%m-%d"),
        "outcome_copy": leak,
        "ethnicity": rng.choice(["white", "black", "asian"], n, p=[0.8, 0.1, 0.1]),
        "dash_score": (0.4 * prior + rng.normal(0, 1.5, n)).round(2),
        "constant": "x",
        "label": label,
    })


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture()
def table_csv(tmp_path, table):
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    return path
