"""Wiring of the stages for whole jobs (run, backtest, retrain, demo).

The one module allowed to import every stage: contract -> features -> modelling -> explain ->
tracking -> governance. Filled in as the stages land.
"""

from __future__ import annotations
