"""riskcohort.explain stage: SHAP explanations of a run, traced to the records behind them.

Public API (imported lazily so ``import riskcohort.explain`` stays cheap):
``shap_adapter.contributions``, ``explain_run``, ``explain_person``, ``PersonExplanation``.
"""

from __future__ import annotations

_LAZY = {
    "explain_run": "riskcohort.explain.run",
    "explain_person": "riskcohort.explain.person",
    "PersonExplanation": "riskcohort.explain.person",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskcohort.explain' has no attribute {name!r}")
