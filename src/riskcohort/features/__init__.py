"""riskcohort.features: point-in-time indicators, labels and their evidence.

Public API (architecture section 3): :func:`build`, :func:`evidence`, :func:`load_catalogue`
(with :class:`Indicator`) and :func:`indicator_names`. The heavy engine (Ibis, DuckDB) is
imported on first use so ``import riskcohort.features`` stays light; the names resolve to the
real functions (real signatures), and ``TYPE_CHECKING`` gives them to mypy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.features.catalogue import Indicator, load_catalogue
    from riskcohort.features.engine import build, indicator_names
    from riskcohort.features.evidence_rows import evidence

_EXPORTS = {
    "build": "riskcohort.features.engine",
    "indicator_names": "riskcohort.features.engine",
    "evidence": "riskcohort.features.evidence_rows",
    "load_catalogue": "riskcohort.features.catalogue",
    "Indicator": "riskcohort.features.catalogue",
}
__all__ = ["Indicator", "build", "evidence", "indicator_names", "load_catalogue"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'riskcohort.features' has no attribute {name!r}")
