"""riskcohort.impact: what difference did managing people make? (issue 17, ``riskcohort impact``)

An observational estimate of the effect of one intervention kind on serious harm, during
management and for 12 months after, as a relative risk against *comparable* unmanaged people:
people the team could have picked on the same day, with the same risk as the team could see it.
Public API: :func:`estimate_impact` (imported lazily so ``riskcohort --help`` stays light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.impact.estimate import estimate_impact

__all__ = ["estimate_impact"]


def __getattr__(name: str) -> Any:
    # Lazy, but the real function (real signature), not a **kwargs wrapper (issue 13.7).
    if name == "estimate_impact":
        from riskcohort.impact.estimate import estimate_impact

        return estimate_impact
    raise AttributeError(f"module 'riskcohort.impact' has no attribute {name!r}")
