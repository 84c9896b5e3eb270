"""riskcohort.explain stage: SHAP explanations of a run, traced to the records behind them.

Public API (imported lazily so ``import riskcohort.explain`` stays cheap; the names resolve to
the real objects, and ``TYPE_CHECKING`` gives them to mypy): ``contributions`` (SHAP values of a
booster), ``explain_run``, ``explain_person``, ``PersonExplanation``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.explain.person import PersonExplanation, explain_person
    from riskcohort.explain.run import explain_run
    from riskcohort.explain.shap_adapter import contributions

_LAZY = {
    "contributions": "riskcohort.explain.shap_adapter",
    "explain_run": "riskcohort.explain.run",
    "explain_person": "riskcohort.explain.person",
    "PersonExplanation": "riskcohort.explain.person",
}
__all__ = ["PersonExplanation", "contributions", "explain_person", "explain_run"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskcohort.explain' has no attribute {name!r}")
