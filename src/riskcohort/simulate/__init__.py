"""riskcohort.simulate: a synthetic police force with known true risk.

``simulate(out_dir, preset, seed, ...)`` writes contract tables, ``baseline_scores.csv`` (the
incumbent ``ILAS``) and ``_truth/`` (true risk, injected defects); ``check(data_dir)`` measures the
dataset against published stylized facts (imported on first use). See
``docs/synthetic-force.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskcohort.simulate.api import simulate

if TYPE_CHECKING:
    from riskcohort.simulate.facts import check

__all__ = ["check", "simulate"]


def __getattr__(name: str) -> Any:
    if name == "check":
        from riskcohort.simulate.facts import check

        return check
    raise AttributeError(f"module 'riskcohort.simulate' has no attribute {name!r}")
