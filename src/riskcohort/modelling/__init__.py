"""riskcohort.modelling stage: the calibrated cohort estimator and the runs that use it."""

from riskcohort.modelling.model import CohortModel

__all__ = ["CohortModel"]
