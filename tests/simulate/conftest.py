"""Shared simulated datasets (made once per test session; the generator is deterministic)."""

from __future__ import annotations

import pytest

from riskcohort.simulate import simulate


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny preset with defects (Parquet)."""
    out = tmp_path_factory.mktemp("tiny")
    return out, simulate(out, preset="tiny", seed=3)


@pytest.fixture(scope="session")
def tiny_clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_clean")
    return out, simulate(out, preset="tiny", seed=3, clean=True)


@pytest.fixture(scope="session")
def small(tmp_path_factory):
    """The small preset (Parquet, with defects), as users run it."""
    out = tmp_path_factory.mktemp("small")
    return out, simulate(out, preset="small", seed=0)
