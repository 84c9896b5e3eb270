"""riskcohort.tracking: MLflow record of cohort iterations, the model registry and retraining.

Public API (MLflow itself is imported only inside the functions, so importing this is cheap):
``log_iteration``, ``register_model``, ``load_registered``, ``decide_promotion``, ``retrain``,
``score_registered``.
"""

from riskcohort.tracking.iteration import log_iteration
from riskcohort.tracking.registry import load_registered, register_model

__all__ = ["log_iteration", "register_model", "load_registered"]
