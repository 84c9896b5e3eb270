"""riskcohort.modelling stage: the calibrated cohort estimator and the runs that use it."""

from riskcohort.modelling.config import ExperimentConfig, load_experiment
from riskcohort.modelling.model import CohortModel

__all__ = ["CohortModel", "ExperimentConfig", "load_experiment"]
