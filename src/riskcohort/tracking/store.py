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
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from riskcohort import _offline  # noqa: F401
from riskcohort.errors import UserError
from riskcohort.io import pid_alive

logger = logging.getLogger(__name__)

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


@contextlib.contextmanager
def registry_lock(uri: str) -> Iterator[None]:
    """Exclusive lock for a compare-and-set of registry aliases on a local SQLite store (a
    separate file from :func:`store_lock`, which ``client`` takes); no-op for other stores."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    with open(db.with_name(db.name + ".registry.lock"), "a+") as fh:
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


def writable(uri: str) -> bool:
    """Whether a local SQLite store (its folder, and the file when it exists) can be written;
    True for any other store (the server decides)."""
    db = sqlite_path(uri)
    if db is None:
        return True
    folder = db.parent if db.parent.exists() else next(
        (p for p in db.parents if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        return False
    return not _read_only_mount(folder)


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def client(uri: str | None = None, work: str | os.PathLike | None = None, *,
           readonly: bool = False):
    """An ``MlflowClient`` on the resolved store, created once under the store lock.

    Also points the fluent API (``mlflow.log_*``) at the same store and registry, so both
    routes agree. ``readonly`` (compare, diff, explain, ui): no lock, nothing created or
    migrated, so a read-only store (a folder mounted read-only, a copy on a DVD) can be read.
    A writing client first marks FAILED the runs a killed process left RUNNING
    (:func:`reap_abandoned`).
    """
    configure_env()
    uri = resolve_tracking_uri(uri, work)
    check_reachable(uri)
    db = sqlite_path(uri)
    if readonly and db is not None and not db.exists():
        raise UserError(f"tracking store {uri}: no such database {db}; run `riskcohort run` "
                        "first, or pass --tracking-uri / --work")
    if readonly or (db is not None and db.exists() and not writable(uri)):
        return _open(uri, lock=False)
    c = _open(uri, lock=True)
    reap_abandoned(c)
    return c


def _open(uri: str, lock: bool):
    import mlflow
    from mlflow import MlflowClient

    _opened.add(uri)
    with store_lock(uri) if lock else contextlib.nullcontext():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        c = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            c.search_experiments(max_results=1)  # creates/migrates the schema once
            c.search_registered_models(max_results=1)
        except Exception as exc:  # noqa: BLE001 - a broken store is the user's to fix
            raise UserError(f"tracking store {uri} cannot be opened: {exc}") from None
    return c


# --- runs left RUNNING by a killed process ------------------------------------------------
PID_TAG, HOST_TAG, START_TAG = "riskcohort.pid", "riskcohort.host", "riskcohort.started"
FAILURE_TAG = "riskcohort.failure"
_reaped: set[str] = set()  # stores already checked by this process
_opened: set[str] = set()  # stores this process opened (fail_own_runs looks there)


def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (tells a reused pid apart), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_tags() -> dict[str, str]:
    """Tags naming the process that opens a run (pid, host, process start), so the next
    command can tell a run left RUNNING by a killed process from one still being written."""
    import socket

    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(),
            START_TAG: _process_start(pid) or ""}


def _owner_alive(tags: dict) -> bool:
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return True  # not ours to judge
    if pid == os.getpid():
        return True
    if not pid_alive(pid):
        return False
    started = tags.get(START_TAG)
    return not started or _process_start(pid) in (None, started)


def reap_abandoned(c) -> list[str]:
    """Mark FAILED, with a message, every RUNNING run opened on this host by a process that no
    longer runs (killed with -9, or the machine lost power). Runs of live processes, of other
    hosts and of other tools (no pid tag) are left alone. Returns the run ids marked."""
    import socket

    if c.tracking_uri in _reaped:
        return []
    _reaped.add(c.tracking_uri)
    host = socket.gethostname()
    try:
        exp_ids = [e.experiment_id for e in c.search_experiments()]
        runs = c.search_runs(exp_ids, filter_string=f"attributes.status = 'RUNNING' and "
                             f"tags.`{HOST_TAG}` = '{host}'", max_results=1000) if exp_ids else []
    except Exception as exc:  # noqa: BLE001 - best effort: never block a command on it
        logger.debug("could not look for abandoned runs: %s", exc)
        return []
    marked = []
    for run in runs:
        tags = run.data.tags
        if _owner_alive(tags):
            continue
        message = (f"process {tags.get(PID_TAG)} on {host} stopped before finishing this run "
                   "(killed or crashed); marked FAILED by the next riskcohort command")
        c.set_tag(run.info.run_id, FAILURE_TAG, message)
        c.set_terminated(run.info.run_id, "FAILED")
        logger.warning("MLflow run %s (%s) was left RUNNING by process %s, which no longer "
                       "runs: marked FAILED", run.info.run_id,
                       tags.get("mlflow.runName", "?"), tags.get(PID_TAG))
        marked.append(run.info.run_id)
    return marked


def fail_own_runs(reason: str = "interrupted") -> list[str]:
    """Mark FAILED every run this process opened and left RUNNING (on an interruption), in
    every store it opened; the ids of its runs that ended FAILED."""
    import mlflow

    marked = []
    with contextlib.suppress(Exception):  # the interruption message matters more
        while (active := mlflow.active_run()) is not None:
            marked.append(active.info.run_id)
            mlflow.end_run("FAILED")
    me = owner_tags()
    for uri in sorted(_opened):
        try:
            c = _open(uri, lock=False)
            exp_ids = [e.experiment_id for e in c.search_experiments()]
            runs = c.search_runs(exp_ids, filter_string=(
                f"tags.`{PID_TAG}` = '{me[PID_TAG]}' and tags.`{HOST_TAG}` = '{me[HOST_TAG]}' "
                f"and tags.`{START_TAG}` = '{me[START_TAG]}'"), max_results=1000)
            for run in runs:
                if run.info.status == "RUNNING":
                    c.set_tag(run.info.run_id, FAILURE_TAG, reason)
                    c.set_terminated(run.info.run_id, "FAILED")
                    marked.append(run.info.run_id)
                elif run.info.status in ("FAILED", "KILLED"):
                    marked.append(run.info.run_id)
        except Exception as exc:  # noqa: BLE001 - the interruption message matters more
            logger.debug("could not mark this process's runs FAILED in %s: %s", uri, exc)
    return sorted(set(marked))


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
