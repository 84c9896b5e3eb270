"""riskcohort.tracking: MLflow record of cohort iterations, the model registry and retraining.

Public API (MLflow, pandas and LightGBM are imported only inside the functions, so importing
this package is cheap): ``log_iteration``, ``register_model``, ``load_registered``,
``decide_promotion``, ``default_tracking_uri``. The ``retrain`` and ``score`` jobs that chain
the stages live in ``riskcohort.workflow``. See docs/tracking.md.
"""

from riskcohort.tracking.iteration import log_iteration
from riskcohort.tracking.promotion import decide_promotion
from riskcohort.tracking.registry import load_registered, register_model
from riskcohort.tracking.store import default_tracking_uri

__all__ = ["log_iteration", "register_model", "load_registered", "decide_promotion",
           "default_tracking_uri"]
