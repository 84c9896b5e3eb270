"""Shared fixtures of the impact tests."""

from __future__ import annotations

import pytest

from riskcohort.impact import estimate


@pytest.fixture
def fake_snapshot(monkeypatch):
    """Replaces the point-in-time snapshot with the fixture force's scores: set
    ``fake_snapshot["snap"]``; each month's rows are served from it (fast, no features)."""
    state = {}
    monkeypatch.setattr(estimate, "_snapshot", lambda ds, months: state["snap"].loc[
        state["snap"]["as_of"].isin(months)].reset_index(drop=True))
    return state
