"""riskcohort.governance: the governance pack and the fairness audit.

``report(run_dir, out=None, pdf=False)`` writes one self-contained HTML pack for a run folder
(model card, data, performance, fairness audit, bias at equal true risk, indicators, drift,
ALGO-CARE, ATRS). ``audit`` (``fairness.audit``) and ``equal_risk.equal_risk`` are pure
functions over DataFrames, reused by the tabular mode. Heavy imports happen on first use; the
names resolve to the real functions (real signatures), and ``TYPE_CHECKING`` gives them to mypy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.governance.fairness import audit
    from riskcohort.governance.pack import report

_EXPORTS = {
    "report": "riskcohort.governance.pack",
    "audit": "riskcohort.governance.fairness",
}
__all__ = ["audit", "report"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'riskcohort.governance' has no attribute {name!r}")
