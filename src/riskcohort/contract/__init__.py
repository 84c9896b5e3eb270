"""riskcohort.contract: read a dataset folder, check it against the contract, quarantine bad rows.

Public API (imported lazily so ``riskcohort --help`` does not pay for pandas):
``load_dataset``, ``Dataset``, ``ValidationReport``, ``TableReport``, ``default_report_dir``.
The names resolve to the real objects (real signatures); ``TYPE_CHECKING`` gives them to mypy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.contract.loader import Dataset, default_report_dir, load_dataset
    from riskcohort.contract.report import TableReport, ValidationReport

_EXPORTS = {
    "load_dataset": "riskcohort.contract.loader",
    "Dataset": "riskcohort.contract.loader",
    "default_report_dir": "riskcohort.contract.loader",
    "ValidationReport": "riskcohort.contract.report",
    "TableReport": "riskcohort.contract.report",
}
__all__ = ["Dataset", "TableReport", "ValidationReport", "default_report_dir", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'riskcohort.contract' has no attribute {name!r}")
