"""Indicator definitions, one module per indicator group; ``SPECS`` lists them all in order.

Why split: each module stays short and reviewable against its catalogue entries
(``indicators.yaml``); the relationship group and age are computed in ``relationship.py`` and
``engine.py`` because they are not a single aggregation over one source.
"""

from riskcohort.features.defs import (
    assessments,
    history,
    interventions,
    markers,
    orders,
    severity,
    victims,
)

SPECS = (
    *history.SPECS,
    *severity.SPECS,
    *orders.SPECS,
    *victims.SPECS,
    *assessments.SPECS,
    *markers.SPECS,
    *interventions.SPECS,
)
