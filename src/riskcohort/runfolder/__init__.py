"""riskcohort.runfolder: the run folder, the contract between the stages, in one place.

Pure IO: imports no stage, so every stage (and the jobs in :mod:`riskcohort.workflow`) may use
it. Every file name is declared once in :mod:`.layout`; the manifest, metrics and explanation
summary are typed records (:mod:`.records`); :class:`RunWriter` is the one writer (stage, then
publish whole with one rename) and :func:`open_run` the one reader (version, completeness and
sha256 verified before anything is read). See docs/architecture.md, "The run folder".
"""

from riskcohort.runfolder import layout
from riskcohort.runfolder.history import previous_run_dir, sibling_metrics
from riskcohort.runfolder.layout import BACKTEST_SCHEMA_VERSION, SCHEMA_VERSION
from riskcohort.runfolder.reader import (
    RunFolder,
    find_runs,
    is_run_folder,
    open_run,
    read_backtest,
    read_manifest,
    verify_run,
)
from riskcohort.runfolder.records import BacktestSummary, ExplanationSummary, Manifest, Metrics
from riskcohort.runfolder.writer import (
    BacktestWriter,
    RunWriter,
    attach,
    file_digests,
    record_tracking,
    recover,
    refuse_existing,
)

__all__ = [
    "SCHEMA_VERSION", "BACKTEST_SCHEMA_VERSION", "layout",
    "Manifest", "Metrics", "ExplanationSummary", "BacktestSummary",
    "RunWriter", "BacktestWriter", "attach", "record_tracking", "recover", "refuse_existing",
    "file_digests",
    "RunFolder", "open_run", "verify_run", "read_manifest", "read_backtest", "find_runs",
    "is_run_folder", "previous_run_dir", "sibling_metrics",
]
