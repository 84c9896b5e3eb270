"""Fixtures; the data builders live in contract_data.py (importable by name)."""

from __future__ import annotations

import pytest

import riskcohort  # noqa: F401  (telemetry off first)
from tests.contract.contract_data import (  # noqa: F401
    BUILDERS,
    N_INCIDENTS,
    N_PERSONS,
    _baseline,
    _custody,
    _incidents,
    _markers,
    _orders,
    _persons,
    _referrals,
    _relationships,
    _risk_assessments,
    valid_tables,
    write_dataset,
)


@pytest.fixture
def tables():
    return valid_tables()


@pytest.fixture(params=["csv", "parquet"])
def fmt(request):
    return request.param
