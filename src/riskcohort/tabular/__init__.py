"""riskcohort.tabular: the same estimator, evaluation and fairness audit on any person table.

Public API (imported lazily; the names resolve to the real objects, and ``TYPE_CHECKING`` gives
them to mypy): ``run_tabular`` with its ``Roles`` (which column is what) and ``TabularResult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.tabular.roles import Roles
    from riskcohort.tabular.run import TabularResult, run_tabular

_EXPORTS = {
    "Roles": "riskcohort.tabular.roles",
    "TabularResult": "riskcohort.tabular.run",
    "run_tabular": "riskcohort.tabular.run",
}
__all__ = ["Roles", "TabularResult", "run_tabular"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'riskcohort.tabular' has no attribute {name!r}")
