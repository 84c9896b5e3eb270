"""Where tracking goes: resolve the tracking URI, make it fail fast, and open it safely.

Any MLflow tracking URI is accepted (``--tracking-uri``, then ``MLFLOW_TRACKING_URI``, then a
SQLite file in the work folder). Police networks are air-gapped, so an HTTP server that is down
must produce one clear :class:`~riskcohort.errors.UserError` within seconds, not minutes of
retries followed by a traceback. Two processes opening a brand-new SQLite store at once would
race on MLflow's schema migrations, so the first open is serialised with a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from riskcohort import _offline  # noqa: F401
from riskcohort.errors import UserError

#: Short HTTP retries/timeouts so an unreachable server fails fast (a user's value wins).
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
HEALTH_TIMEOUT_S = 5.0


def configure_env() -> None:
    """Set the fast-fail HTTP defaults before MLflow reads them."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


def work_dir(work: str | os.PathLike | None = None) -> Path:
    """The work folder: ``work``, else ``$RISKCOHORT_WORK``, else ``./work`` (absolute)."""
    return Path(work or os.environ.get("RISKCOHORT_WORK") or "work").resolve()


def default_tracking_uri(work: str | os.PathLike | None = None) -> str:
    """SQLite store in the work folder.

    >>> default_tracking_uri("/tmp/w")
    'sqlite:////tmp/w/mlflow.db'
    """
    return f"sqlite:///{work_dir(work) / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None = None, work: str | os.PathLike | None = None) -> str:
    """Explicit URI, else ``MLFLOW_TRACKING_URI``, else the default SQLite store."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(work)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for any other store.

    >>> sqlite_path("sqlite:////tmp/w/mlflow.db")
    PosixPath('/tmp/w/mlflow.db')
    >>> sqlite_path("http://127.0.0.1:5000") is None
    True
    """
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):].split("?", 1)[0])


def artifact_root(uri: str) -> str | None:
    """Local artifact folder next to a SQLite store (the server decides for other stores)."""
    db = sqlite_path(uri)
    return None if db is None else (db.parent / "mlartifacts").as_uri()


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Exclusive inter-process lock for a local SQLite store (no-op for other stores)."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_reachable(uri: str) -> None:
    """Raise a UserError quickly when an HTTP tracking server does not answer ``/health``."""
    if not uri.startswith(("http://", "https://")):
        return
    import requests

    url = uri.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=HEALTH_TIMEOUT_S)
    except requests.RequestException as exc:
        raise UserError(
            f"tracking server {uri} is not reachable ({type(exc).__name__}); start it "
            "(`riskcohort ui` or `mlflow server`) or pass another --tracking-uri"
        ) from None
    if response.status_code >= 400:
        raise UserError(f"tracking server {uri} answered HTTP {response.status_code} on /health")


def client(uri: str | None = None, work: str | os.PathLike | None = None):
    """An ``MlflowClient`` on the resolved store, created once under the store lock.

    Also points the fluent API (``mlflow.log_*``) at the same store and registry, so both
    routes agree.
    """
    configure_env()
    uri = resolve_tracking_uri(uri, work)
    check_reachable(uri)
    import mlflow
    from mlflow import MlflowClient

    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        c = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            c.search_experiments(max_results=1)  # creates/migrates the schema once
            c.search_registered_models(max_results=1)
        except Exception as exc:  # noqa: BLE001 - a broken store is the user's to fix
            raise UserError(f"tracking store {uri} cannot be opened: {exc}") from None
    return c


def get_or_create_experiment(c, name: str) -> str:
    """Experiment id by name; created with the local artifact root when new (race-safe)."""
    for _ in range(5):
        exp = c.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                c.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        try:
            root = artifact_root(c.tracking_uri)
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
            location = f"{root}/{slug}" if root else None
            return c.create_experiment(name, artifact_location=location)
        except Exception:  # noqa: BLE001 - another process created it first: look again
            time.sleep(0.2)
    raise UserError(f"experiment {name!r} could not be created in {c.tracking_uri}")


@contextlib.contextmanager
def friendly_errors(uri_hint: str | None = None) -> Iterator[None]:
    """Turn MLflow/HTTP failures inside a command into one UserError (no traceback)."""
    import requests
    from mlflow.exceptions import MlflowException

    where = f"tracking store {uri_hint}" if uri_hint else "tracking store"
    try:
        yield
    except MlflowException as exc:
        raise UserError(f"{where}: {exc.message}", exit_code=1) from None
    except requests.RequestException as exc:  # server gone mid-run
        raise UserError(f"{where}: {type(exc).__name__}: {exc}", exit_code=1) from None
