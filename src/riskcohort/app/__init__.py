"""riskcohort.app: the case-review web app over published run folders.

Public API (imported lazily so ``riskcohort --help`` does not load FastAPI; the names resolve to
the real objects, and ``TYPE_CHECKING`` gives them to mypy): ``create_app`` and its ``Settings``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskcohort.app.web import Settings, create_app

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from riskcohort.app import web

        return getattr(web, name)
    raise AttributeError(f"module 'riskcohort.app' has no attribute {name!r}")
