"""The scoring stage's memory, estimated before training starts.

Why: the training plan (:mod:`riskcohort.modelling.trainset`) bounds the training stages, but a
run then scores and explains the whole population at the as-of date, unsampled. On the national
preset that stage, not training, is what first ran out of memory (docs/scale.md), an hour into
the job. So the job estimates it from the population size before any indicator is built, logs
the figure, and stops at once, naming it, when it cannot fit.

What the estimate counts (on top of the loaded dataset, which ``available_bytes`` already
excludes), each from a measured national run:

- the scored snapshot, every indicator in float64, and the SHAP contributions of the same
  size (``2 x 8`` bytes per person and indicator);
- the population and label tables while it is built, then the scores
  (``_POPULATION_BYTES_PER_ROW``);
- one pass of the indicator queries (``features.engine.CHUNK_ROWS`` rows in flight), which is
  more than one chunk of the long explanation table with its Arrow copy (``explain.run``
  writes 50,000 people a chunk: ~0.7 GB for 114 indicators).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from riskcohort.errors import UserError
from riskcohort.memory import size_text

logger = logging.getLogger(__name__)

#: Per person besides the indicators: the population and label tables while the snapshot is
#: built, then the scores frame beside it. The national run (3.26 M people) peaked 8.0 GB
#: above the loaded dataset while writing the scored snapshot; this estimates 8.4 GB for it.
_POPULATION_BYTES_PER_ROW = 600


@dataclass(frozen=True)
class ScorePlan:
    """People to score at the as-of date and the estimated bytes of scoring them."""

    people: int
    columns: int
    bytes: int
    available_bytes: int | None

    def line(self) -> str:
        avail = ("unknown" if self.available_bytes is None
                 else f"{size_text(self.available_bytes)} available")
        return (f"scoring: ~{self.people:,} people x {self.columns} indicators, scored and "
                f"explained; estimated peak {size_text(self.bytes)} ({avail})")


def estimate(people: int, columns: int, available: int | None) -> ScorePlan:
    """:class:`ScorePlan` of scoring ``people`` on ``columns`` indicators (module doc).

    >>> estimate(3_200_000, 117, None).line()[-40:]
    'plained; estimated peak 8.2 GB (unknown)'
    """
    from riskcohort.features.engine import CHUNK_ROWS

    held = people * columns * 8 * 2 + people * _POPULATION_BYTES_PER_ROW
    in_flight = min(people, CHUNK_ROWS) * columns * 8
    return ScorePlan(int(people), int(columns), int(held + in_flight), available)


def check(plan: ScorePlan) -> None:
    """Log the plan; a ``UserError`` when it cannot fit (no experiment setting shrinks the
    scored population: every person in it is scored)."""
    logger.info(plan.line())
    if plan.available_bytes is None or plan.bytes <= plan.available_bytes:
        return
    raise UserError(
        f"memory: rule 'the scoring stage fits in memory': {plan.line()}; it needs about "
        f"{size_text(plan.bytes)} but {size_text(plan.available_bytes)} is available; every "
        "person in the population is scored and explained, so no experiment setting makes it "
        "smaller: use a machine with more memory")
