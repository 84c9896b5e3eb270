"""The one writer of run folders: stage next to the target, publish whole with one rename.

Why staging: a run takes minutes to hours and can be killed at any point. Writing straight into
``--out`` once mixed two runs (new scores beside old explanations). Here every file goes into a
hidden sibling ``.<name>.staging-<pid>-<random>``; :meth:`RunWriter.publish` lists every file
with its sha256 in ``run.json`` (``complete: true``) and renames the folder into place. A reader
therefore sees either the old folder, or the new one whole, never a mixture.

Overwrite: an existing, non-empty ``--out`` is refused unless ``overwrite=True``; then the old
folder is renamed aside (``.<name>.replaced-<pid>-<random>``) until the new one is in place, and
removed after. A ``guard`` callback (e.g. tracking's champion check) may refuse the overwrite.
Leftovers of a killed process (its staging folder, an old folder moved aside) are cleaned up by
the next writer of the same target: staging is deleted, an aside folder with no target is put
back, so an interrupted overwrite leaves the old run, never nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskcohort import interrupts, io
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.runfolder.records import BacktestSummary, ExplanationSummary, Manifest, Metrics

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: A callback that may refuse to replace an existing folder (raise UserError naming why).
Guard = Callable[[Path], None]


def refuse_existing(target: Path) -> None:
    """The ``UserError`` for an existing ``--out`` written without ``--overwrite``."""
    raise UserError(
        f"output folder {target}: already exists; rule: a run never mixes with an older one; "
        "use --overwrite to replace it whole, or choose another --out")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _sibling(target: Path, prefix: str) -> Path:
    return target.parent / f".{target.name}{prefix}{os.getpid()}-{secrets.token_hex(4)}"


def _leftovers(target: Path, prefix: str) -> Iterator[Path]:
    """Siblings of ``target`` with ``prefix`` written by a process that no longer runs."""
    if not target.parent.is_dir():
        return
    start = f".{target.name}{prefix}"
    for p in sorted(target.parent.iterdir()):
        if p.name.startswith(start):
            pid = p.name[len(start):].split("-")[0]
            if pid.isdigit() and not io.pid_alive(int(pid)):
                yield p


def recover(target: str | os.PathLike) -> None:
    """Clean what a killed writer left next to ``target``: delete its staging folders; put an
    old folder moved aside back when the target is missing (an interrupted overwrite)."""
    target = Path(target)
    for stale in _leftovers(target, L.STAGING_PREFIX):
        logger.warning("removing %s left by an interrupted run (nothing of it was published)",
                       stale.name)
        shutil.rmtree(stale, ignore_errors=True)
    for aside in _leftovers(target, L.ASIDE_PREFIX):
        if target.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            logger.warning("restoring %s: an overwrite was interrupted before publishing", target)
            os.replace(aside, target)


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def file_digests(root: Path, exclude: tuple[str, ...] = (L.MANIFEST,)) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every regular file under ``root`` (hidden files and
    ``exclude`` left out: temporary files are never part of a run)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not _hidden(rel) and rel.as_posix() not in exclude:
            out[rel.as_posix()] = io.sha256_file(p)
    return out


def _check_explanation_columns(frame: pd.DataFrame) -> None:
    missing = [c for c in L.EXPLANATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"explanations frame lacks columns {missing}")


def _purge_hidden(root: Path) -> None:
    for p in sorted(root.rglob(".*"), reverse=True):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()


def _check_relative(data: Any, where: str = "run.json") -> None:
    """No absolute machine path may be published (a run folder travels between machines)."""
    if isinstance(data, dict):
        for key, value in data.items():
            _check_relative(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_relative(value, f"{where}[{i}]")
    elif isinstance(data, str) and os.path.isabs(data) and len(data) > 1 and "\n" not in data:
        raise ValueError(f"{where}: absolute path {data!r} (store paths relative to the run "
                         "folder or the work folder)")


class _Staged:
    """A hidden sibling folder published onto ``target`` with one rename."""

    def __init__(self, target: str | os.PathLike, *, overwrite: bool = False,
                 guard: Guard | None = None) -> None:
        self.target = Path(target).absolute()
        self.overwrite = overwrite
        self.guard = guard
        recover(self.target)
        self._check_target()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = _sibling(self.target, L.STAGING_PREFIX)
        self.staging.mkdir()
        self.published = False

    def _check_target(self) -> None:
        if not self.target.exists() or _is_empty_dir(self.target):
            return
        if not self.overwrite:
            refuse_existing(self.target)
        if not self.target.is_dir():
            raise UserError(f"output folder {self.target}: exists and is not a folder")
        if self.guard is not None:
            self.guard(self.target)

    def path(self, name: str) -> Path:
        """Where to write ``name`` (a relative path of the layout) inside the staging folder."""
        p = self.staging / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def _rename_into_place(self) -> Path:
        self._check_target()
        aside = None
        if _is_empty_dir(self.target):
            self.target.rmdir()
        elif self.target.exists():
            aside = _sibling(self.target, L.ASIDE_PREFIX)
            os.replace(self.target, aside)
        try:
            os.replace(self.staging, self.target)
        except BaseException:
            if aside is not None and not self.target.exists():
                os.replace(aside, self.target)
            raise
        self.published = True
        interrupts.note_published(self.target)  # an interruption line can say so
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        """Remove the staging folder (nothing is published)."""
        if not self.published:
            shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.abort()  # an exception, or a block that never published: nothing is published


class RunWriter(_Staged):
    """Writes one run folder; nothing is visible at ``target`` before :meth:`publish`.

    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with RunWriter(out) as w:
    ...     _ = w.write_frame(L.SCORES, pd.DataFrame({"person_id": ["a"], "score": [0.1]}))
    ...     _ = w.publish(Manifest(as_of="2024-01-01"))
    >>> sorted(p.name for p in out.iterdir())
    ['run.json', 'scores.csv']
    """

    #: The manifest of the folder being amended (:meth:`amend`); None for a new run.
    manifest: Manifest | None = None

    def write_frame(self, name: str, frame: pd.DataFrame) -> Path:
        """A DataFrame as Parquet or CSV (by the name's suffix)."""
        return io.write_frame(self.path(name), frame)

    def write_json(self, name: str, data: Any) -> Path:
        """A record (``to_dict``) or plain data as JSON."""
        return io.write_json(self.path(name), data.to_dict() if hasattr(data, "to_dict")
                             else data)

    def write_text(self, name: str, text: str) -> Path:
        """A text file."""
        return io.write_text(self.path(name), text)

    def write_metrics(self, metrics: Metrics) -> Path:
        """``metrics.json``."""
        return self.write_json(L.METRICS, metrics)

    def write_explanations(self, frame: pd.DataFrame | Iterable[pd.DataFrame],
                           summary: ExplanationSummary) -> Path:
        """``explanations.parquet`` (long format) and ``explanations.json``.

        ``frame`` may be an iterable of frames with the same columns (a national population's
        contributions, a chunk of people at a time): they are written as row groups of one
        Parquet file, so the whole long table never sits in memory."""
        import pandas as pd

        if isinstance(frame, pd.DataFrame):
            _check_explanation_columns(frame)
            self.write_frame(L.EXPLANATIONS, frame)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            with io.atomic_path(self.path(L.EXPLANATIONS)) as tmp:
                out = None
                try:
                    for part in frame:
                        _check_explanation_columns(part)
                        table = pa.Table.from_pandas(part, preserve_index=False)
                        if out is None:
                            out = pq.ParquetWriter(tmp, table.schema)
                        out.write_table(table.cast(out.schema))
                finally:
                    if out is not None:
                        out.close()
                if out is None:
                    raise ValueError("explanations: no frames to write")
        return self.write_json(L.EXPLANATION_SUMMARY, summary)

    def publish(self, manifest: Manifest | None = None) -> Path:
        """Seal the folder (``files``, ``complete``) and rename it onto the target; return it.

        ``manifest`` defaults to the amended folder's own (:meth:`amend`)."""
        manifest = manifest or self.manifest
        if manifest is None:
            raise ValueError("publish needs a Manifest")
        _purge_hidden(self.staging)
        sealed = manifest.replace(schema_version=L.SCHEMA_VERSION, complete=True,
                                  files=file_digests(self.staging), attachments={})
        sealed = sealed.replace(digest=sealed.sealed_digest())
        _check_relative(sealed.to_dict())
        io.write_json(self.staging / L.MANIFEST, sealed.to_dict())
        return self._rename_into_place()

    @classmethod
    def amend(cls, run_dir: str | os.PathLike) -> RunWriter:
        """A writer holding a copy of a published run folder, to replace some of its files and
        publish it again whole (e.g. ``riskcohort explain-run``). Attachments are dropped: they
        were derived from the old content."""
        from riskcohort.runfolder.reader import open_run

        run = open_run(run_dir)
        writer = cls(run.root, overwrite=True)
        for rel in run.manifest.files:
            dst = writer.path(rel)
            try:
                os.link(run.root / rel, dst)
            except OSError:
                shutil.copy2(run.root / rel, dst)
        writer.manifest = run.manifest
        return writer

    def replace_file(self, name: str) -> Path:
        """Path to write a new version of ``name`` (an amended folder's hard link is removed
        first, so the published original is never written through)."""
        p = self.path(name)
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
        return p


class BacktestWriter(_Staged):
    """Writes a backtest folder: one run folder per as-of date plus ``backtest.json``, all
    published together with one rename."""

    def run_writer(self, name: str) -> RunWriter:
        """The writer of one per-date run folder inside the staged backtest folder."""
        return RunWriter(self.staging / name)

    def publish(self, summary: BacktestSummary) -> Path:
        """Write ``backtest.json`` (``complete: true``) and rename the folder into place."""
        _purge_hidden(self.staging)
        sealed = summary.replace(complete=True)
        _check_relative(sealed.to_dict(), L.BACKTEST)
        io.write_json(self.staging / L.BACKTEST, sealed.to_dict())
        return self._rename_into_place()


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Exclusive lock on the folder for read-modify-write of run.json (tracking and reports
    may update it at the same time)."""
    import fcntl

    fd = os.open(run_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _update_manifest(run_dir: Path, change: Callable[[Manifest], Manifest]) -> Manifest:
    from riskcohort.runfolder.reader import read_manifest

    with _locked(run_dir):
        manifest = change(read_manifest(run_dir))
        _check_relative(manifest.to_dict())
        io.write_json(run_dir / L.MANIFEST, manifest.to_dict())
    return manifest


def record_tracking(run_dir: str | os.PathLike, mlflow_run_id: str) -> Manifest:
    """Record the MLflow run of a published folder in its run.json (atomic rewrite)."""
    from riskcohort.runfolder.reader import open_run

    run = open_run(run_dir)
    return _update_manifest(run.root, lambda m: m.replace(mlflow_run_id=mlflow_run_id))


def attach(run_dir: str | os.PathLike, name: str, write: Callable[[Path], Any]) -> Path:
    """Add (or replace) a derived file in a published folder, e.g. the governance report.

    The rule for files written after publication: they are *attachments*, never part of the
    verified run (``files``). ``write(tmp)`` writes the file to a temporary path; it is renamed
    into place and its sha256 recorded under ``attachments`` in run.json. A reader verifies
    attachments too, but a stale one (changed, or replaced by a process killed before the
    record) is only hidden with a warning, because it can be regenerated and the run itself is
    unchanged. A name of the run's own ``files`` cannot be attached.
    """
    from riskcohort.runfolder.reader import open_run

    run = open_run(run_dir)
    if name in run.manifest.files or name == L.MANIFEST:
        raise UserError(f"run folder {run.root}: {name} is part of the run; rule: attachments "
                        "never replace a published file")
    target = run.root / name
    with io.atomic_path(target) as tmp:
        write(tmp)
        digest = io.sha256_file(tmp)
    _update_manifest(run.root, lambda m: m.replace(attachments={**m.attachments,
                                                                name: digest}))
    return target
