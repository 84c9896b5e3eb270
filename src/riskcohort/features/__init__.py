"""riskcohort.features: point-in-time indicators, labels and their evidence.

Public API (architecture section 3): :func:`build`, :func:`evidence`,
``catalogue.load_catalogue`` and ``harm.HARM_WEIGHTS``. The heavy engine (Ibis, DuckDB) is
imported on first call so ``import riskcohort.features`` stays light.
"""

from __future__ import annotations


def build(data, as_of, **kwargs):
    """Indicators for many as-of dates; see :func:`riskcohort.features.engine.build`."""
    from riskcohort.features.engine import build as _build

    return _build(data, as_of, **kwargs)


def evidence(data, person_id, as_of, indicators=None):
    """Records behind each indicator; see :func:`riskcohort.features.evidence_rows.evidence`."""
    from riskcohort.features.evidence_rows import evidence as _evidence

    return _evidence(data, person_id, as_of, indicators)


__all__ = ["build", "evidence"]
