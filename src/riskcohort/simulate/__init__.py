"""riskcohort.simulate: a synthetic police force with known true risk.

``simulate(out_dir, preset, seed, ...)`` writes contract tables, ``baseline_scores.csv`` (the
incumbent ``ILAS``) and ``_truth/`` (true risk, injected defects); ``check(data_dir)`` measures the
dataset against published stylized facts. See ``docs/synthetic-force.md``.
"""

from riskcohort.simulate.api import simulate

__all__ = ["simulate", "check"]


def check(data_dir, preset=None):
    """Stylized-fact table of a simulated dataset (see ``riskcohort.simulate.facts``)."""
    from riskcohort.simulate.facts import check as _check

    return _check(data_dir, preset)
