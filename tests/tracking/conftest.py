"""Fixtures; the data builders live in tracking_data.py (importable by name)."""

from __future__ import annotations

from pathlib import Path

import pytest

import riskcohort  # noqa: F401  (telemetry off first)
from tests.tracking.tracking_data import BASELINES, FEATURES, make_run_folder, run_copy  # noqa: F401


@pytest.fixture
def run_folder(tmp_path) -> Path:
    return run_copy(tmp_path / "run1")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """An empty, migrated MLflow database, made once: creating the schema (alembic) costs
    seconds, so each test gets a copy instead."""
    from riskcohort.tracking import store

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    store.client(f"sqlite:///{db}")
    return db


@pytest.fixture
def store_uri(tmp_path, monkeypatch, template_db) -> str:
    """A fresh SQLite store (a copy of the template) in this test's folder."""
    import shutil

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "store").mkdir()
    shutil.copy(template_db, tmp_path / "store" / "mlflow.db")
    return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"


@pytest.fixture
def fresh_store_uri(tmp_path, monkeypatch) -> str:
    """A store that does not exist yet (tests that exercise schema creation)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
