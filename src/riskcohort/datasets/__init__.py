"""riskcohort.datasets: versioned dataset updates (base + extract -> new version + what changed).

Public API: ``update_dataset`` and its ``UpdateResult`` (imported lazily: pandas and Arrow load
only when used; the names resolve to the real objects, and ``TYPE_CHECKING`` gives them to mypy).
See docs/tracking.md, "Dataset versions".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.datasets.update import UpdateResult, update_dataset

__all__ = ["UpdateResult", "update_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from riskcohort.datasets import update

        return getattr(update, name)
    raise AttributeError(f"module 'riskcohort.datasets' has no attribute {name!r}")
