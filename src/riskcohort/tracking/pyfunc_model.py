"""The registered model: an MLflow pyfunc that serves exactly what ``scores.csv`` shows.

Why not the LightGBM flavour: the booster's own ``predict`` is the *uncalibrated* probability,
so a data scientist serving ``models:/da-threat-to-life@champion`` would get numbers that differ
from the run's scores. This pyfunc carries the whole saved :class:`CohortModel` (``model.txt``,
``calibrator.json``, ``feature_names.json``, ``estimator.json``, ``members/``: text files, as
artifacts) and its ``predict(features_df)`` returns ``CohortModel.predict_risk``: the calibrated
probability, the same code path that wrote ``scores.csv``. The booster stays available as the
artifact ``cohort_model/model.txt`` for SHAP.

No pickle: the model is logged as *code* (``pyfunc_entry.py``, MLflow's models-from-code), so
loading runs this module's class on the artifact files instead of unpickling an object. Loading
needs ``riskcohort`` installed (it is listed in the model's requirements).

Input: a frame with the indicator columns (extra columns such as ``person_id`` are ignored; an
absent indicator is scored as unknown, like the run does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

logger = logging.getLogger(__name__)

#: Name of the artifact (the saved model folder) inside the logged MLflow model.
ARTIFACT = "cohort_model"
ENTRY = Path(__file__).with_name("pyfunc_entry.py")


class CohortPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]  # mlflow: no stubs
    """``predict(features_df)`` -> calibrated probability per row (``CohortModel.predict_risk``)."""

    def load_context(self, context) -> None:
        from riskcohort.modelling.model import CohortModel

        self.model = CohortModel.load(context.artifacts[ARTIFACT])

    def predict(self, context, model_input, params=None):
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(
            model_input, columns=list(self.model.feature_names_in_))
        return self.model.predict_risk(frame)


def requirements() -> list[str]:
    """Pinned requirements of a serving environment (riskcohort itself included)."""
    out = []
    for pkg in ("riskcohort", "lightgbm", "scikit-learn", "pandas", "numpy", "scipy"):
        try:
            out.append(f"{pkg}=={metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            out.append(pkg)
    return out


def _frame_column(features: pd.DataFrame | None) -> Callable[[str], pd.Series | None]:
    """One column of an in-memory frame at a time (None when absent), like
    ``RunFolder.feature_column`` reads one from the run folder."""
    def column(name: str) -> pd.Series | None:
        return features[name] if features is not None and name in features else None

    return column


def log_model(model_dir: Path, features: pd.DataFrame | None = None, name: str = "model", *,
              column: Callable[[str], pd.Series | None] | None = None):
    """Log the saved model folder as the pyfunc; returns MLflow's ``ModelInfo``.

    ``features`` (the scored snapshot), or ``column`` reading it a column at a time, gives the
    signature's column types and a synthetic input
    example (column medians), so no real person's row is copied into the registry. MLflow
    checks inputs against the signature: pass the indicator columns with the run's types.
    """
    from mlflow.models import infer_signature

    from riskcohort.modelling.model import CohortModel

    model = CohortModel.load(model_dir)
    names = [str(n) for n in model.feature_names_in_]
    # column by column: a float64 copy of a national snapshot (3.3 M x 114) is 3 GB
    read = column or _frame_column(features)  # one accessor, whichever the source
    empty = pd.Series(dtype="float64")
    columns = {n: empty if (found := read(n)) is None else found for n in names}
    example = pd.DataFrame({n: [col.astype("float64").median()] for n, col in columns.items()},
                           columns=names).fillna(0.0)
    # the signature keeps the run's column types: the features the run scored are what a
    # caller passes (MLflow refuses int64 data for a float64 column and the reverse)
    for col, values in columns.items():
        dtype = values.dtype
        if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            example[col] = example[col].round().astype(dtype)
    signature = infer_signature(example, model.predict_risk(example))
    logger.info("logging the calibrated pyfunc model (%d indicators)", len(names))
    return mlflow.pyfunc.log_model(
        name=name, python_model=str(ENTRY), artifacts={ARTIFACT: str(model_dir)},
        signature=signature, input_example=example, pip_requirements=requirements())
