"""Fixtures of the governance tests (the builder lives in gov_fixture.py so tests can import it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance.gov_fixture import write_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("gov"))
