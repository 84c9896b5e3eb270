"""Preflight: before heavy work, check the folders a job writes are writable and have room.

Why: a run takes minutes to hours. Finding a read-only ``--out`` or a full tracking store only
when the last file is written wasted all of it (and once left an MLflow run RUNNING). So the
jobs check first, in seconds: each folder they will write (the run folder's parent, the work
folder, a local tracking store) must accept a file, and hold about the expected size, estimated
from the dataset's size on disk (a run folder and its MLflow copy were each ~9x the Parquet
dataset on the small preset, plus a fixed ~30 MB for the model, plots and metadata).
A failure is a :class:`~riskcohort.errors.UserError` naming the folder, the rule and the
numbers (exit 1: the machine's state, not the command line, is at fault).
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

#: Expected size of one run folder (and of its MLflow artifacts): RATIO x data + FIXED bytes.
SIZE_RATIO = 10
FIXED_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Need:
    """A folder a job will write and the bytes it expects to put there."""

    folder: Path
    what: str
    bytes: int


def data_size(data_dir: str | os.PathLike | None) -> int:
    """Bytes of the dataset's files (0 when unknown)."""
    if data_dir is None or not Path(data_dir).is_dir():
        return 0
    return sum(p.stat().st_size for p in Path(data_dir).rglob("*") if p.is_file())


def expected_run_bytes(data_dir, runs: int = 1) -> int:
    """Estimated bytes of ``runs`` run folders made from ``data_dir``."""
    return runs * (SIZE_RATIO * data_size(data_dir) + FIXED_BYTES)


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (where a new folder would be created)."""
    path = Path(path).absolute()
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path("/")


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def check_writable(folder: Path, what: str) -> Path:
    """Create and remove a file in ``folder`` (or its nearest existing ancestor); a UserError
    naming the folder and the errno when that fails."""
    base = _existing(folder)
    if not base.is_dir():
        raise UserError(f"{what} {folder}: rule writable_folder: {base} exists and is not a "
                        "folder", exit_code=1)
    try:
        fd, name = tempfile.mkstemp(prefix=".riskcohort-preflight-", dir=base)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, "")
        raise UserError(f"{what} {folder}: rule writable_folder: cannot write in {base} "
                        f"({exc.strerror} [Errno {exc.errno} {code}]); choose a writable "
                        "folder", exit_code=1) from None
    return base


def check_room(needs: list[Need]) -> None:
    """Every folder writable, and each file system with room for what is expected there
    (needs on the same file system are added up)."""
    by_device: dict[int, list[tuple[Need, Path]]] = {}
    for need in needs:
        base = check_writable(need.folder, need.what)
        by_device.setdefault(os.stat(base).st_dev, []).append((need, base))
    for items in by_device.values():
        total = sum(n.bytes for n, _ in items)
        stat = os.statvfs(items[0][1])
        free = stat.f_bavail * stat.f_frsize
        logger.debug("preflight: %s free at %s, about %s expected", _mb(free), items[0][1],
                     _mb(total))
        if free < total:
            names = ", ".join(f"{n.what} {n.folder} (~{_mb(n.bytes)})" for n, _ in items)
            raise UserError(f"rule free_space: {_mb(free)} free on the disk of {names}; about "
                            f"{_mb(total)} needed (estimated from the dataset size); free space "
                            "or choose another folder", exit_code=1)


def check_job(out: str | os.PathLike | None, data_dir: str | os.PathLike | None, *,
              tracking_uri: str | None = None, work: str | os.PathLike | None = None,
              track: bool = True, runs: int = 1) -> None:
    """Preflight of a job writing ``runs`` run folders under ``out`` from ``data_dir`` and
    (with ``track``) logging them to the tracking store. Remote stores are checked by the
    store's own reachability check, not here."""
    size = expected_run_bytes(data_dir, runs)
    needs = []
    if out is not None:
        needs.append(Need(Path(out).absolute().parent, "output folder", size))
    if track:
        from riskcohort.tracking.store import resolve_tracking_uri, sqlite_path, work_dir

        db = sqlite_path(resolve_tracking_uri(tracking_uri, work))
        if db is not None:
            needs.append(Need(db.parent, "tracking store", size))
        else:
            needs.append(Need(work_dir(work), "work folder", 0))
    check_room(needs)
