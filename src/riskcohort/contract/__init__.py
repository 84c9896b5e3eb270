"""riskcohort.contract: read a dataset folder, check it against the contract, quarantine bad rows.

Public API (imported lazily so ``riskcohort --help`` does not pay for pandas):
``load_dataset``, ``Dataset``, ``ValidationReport``, ``TableReport``, ``default_report_dir``.
"""

from __future__ import annotations

_EXPORTS = {
    "load_dataset": "riskcohort.contract.loader",
    "Dataset": "riskcohort.contract.loader",
    "default_report_dir": "riskcohort.contract.loader",
    "ValidationReport": "riskcohort.contract.report",
    "TableReport": "riskcohort.contract.report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'riskcohort.contract' has no attribute {name!r}")
