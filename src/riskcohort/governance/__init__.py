"""riskcohort.governance: the governance pack and the fairness audit.

``report(run_dir, out=None, pdf=False)`` writes one self-contained HTML pack for a run folder
(model card, data, performance, fairness audit, bias at equal true risk, indicators, drift,
ALGO-CARE, ATRS). ``fairness.audit`` / ``fairness.flags`` and ``equal_risk.equal_risk`` are pure
functions over DataFrames, reused by the tabular mode. Heavy imports happen on first call.
"""

from __future__ import annotations


def report(run_dir, out=None, pdf: bool = False, **kwargs):
    """Write the governance pack; see :func:`riskcohort.governance.pack.report`."""
    from riskcohort.governance.pack import report as _report

    return _report(run_dir, out=out, pdf=pdf, **kwargs)


__all__ = ["report"]
