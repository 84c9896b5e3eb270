"""Small I/O helpers shared by every stage: atomic writes and file fingerprints.

Outputs are written to a temporary file in the same folder and moved into place with
``os.replace``, so a reader never sees half a file and an interrupted run leaves the old file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    >>> oct((d / "x.txt").stat().st_mode & 0o777) == oct(0o666 & ~_UMASK)
    True
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a written output gets normal modes
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _umask()  # read once at import: os.umask is process-wide, so never toggle it later


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON atomically (sorted keys, ISO dates via ``str``)."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_frame(path: str | os.PathLike, frame) -> Path:
    """Write a DataFrame atomically as Parquet or CSV, by the file's suffix."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path


_MISSING = object()


def read_json(path: str | os.PathLike, default: Any = _MISSING) -> Any:
    """JSON from a file; ``default`` when the file is absent (an error if no default is given).

    Invalid JSON is always a :class:`~riskcohort.errors.UserError` naming the file.

    >>> read_json("/nonexistent.json", default={})
    {}
    """
    from riskcohort.errors import UserError

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if default is _MISSING:
            raise UserError(f"file {path}: missing (is this a riskcohort run folder?)") from None
        return default
    except json.JSONDecodeError as exc:
        raise UserError(f"file {path}: not valid JSON ({exc})") from None


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still exists on this machine (this process counts as alive).

    One answer for every "was its owner killed?" question (staging folders left by a kill -9,
    MLflow runs left RUNNING): a pid we may not signal belongs to a live process of someone else.
    """
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
