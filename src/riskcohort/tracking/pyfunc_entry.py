"""MLflow models-from-code entry: the registered model is :class:`CohortPyfunc` (no pickle).

MLflow copies this file into the logged model and runs it when the model is loaded.
"""

from mlflow.models import set_model

from riskcohort.tracking.pyfunc_model import CohortPyfunc

set_model(CohortPyfunc())
