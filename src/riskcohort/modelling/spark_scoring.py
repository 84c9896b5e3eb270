"""Distributed scoring on Spark (``--engine spark``): the fitted model applied with ``mapInPandas``.

Why: scoring is embarrassingly parallel (each person's score depends on his row only), so on a
cluster the rows should not travel to one machine to be scored. The fitted :class:`CohortModel`
(LightGBM booster, calibrator and the interval ensemble: everything ``predict_*`` reads) is
broadcast once to the executors; each executor scores its Arrow batches with the *same* methods
the in-process path calls, so the scores are the in-process scores (tests/spark: within 1e-9;
in practice bit for bit, LightGBM scores a row the same whatever batch it is in).

Only the ranking is global (a person's rank depends on everyone's margin): the four numbers per
row come back to the driver and :func:`riskcohort.modelling.iteration.score_frame` ranks them
there, as it does in process (a few numbers a person: 2.3 M people are ~80 MB).

Executors need Python with ``riskcohort`` installed (the driver's interpreter in ``local[N]``; a
cluster ships a packed environment, see docs/scale.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

ROW = "_row"
#: Columns of the distributed result: row position, raw margin, calibrated score, 90% interval.
OUTPUT_SCHEMA = f"{ROW} long, margin double, score double, score_lo double, score_hi double"


def _scorer(broadcast, names: list[str]):
    """The ``mapInPandas`` function: score each batch with the broadcast model."""

    def apply(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = broadcast.value
        for batch in batches:
            X = batch[names].astype("float64")
            lo, hi = model.predict_interval(X)
            yield pd.DataFrame({ROW: batch[ROW].to_numpy(), "margin": model.raw_margin(X),
                                "score": model.predict_risk(X), "score_lo": lo, "score_hi": hi})

    return apply


def score_spark_frame(model: Any, frame: Any) -> Any:
    """A Spark DataFrame with :data:`OUTPUT_SCHEMA`, scored where the rows are (``frame`` holds
    ``_row`` and the model's features)."""
    broadcast = frame.sparkSession.sparkContext.broadcast(model)
    names = [str(n) for n in model.feature_names_in_]
    return frame.select(ROW, *names).mapInPandas(_scorer(broadcast, names), OUTPUT_SCHEMA)


def predict(model: Any, feats: pd.DataFrame, master: str | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(margin, score, score_lo, score_hi)`` of each row of ``feats``, computed on Spark.

    The features go to Spark through Arrow (NaN stays missing), are scored by
    :func:`score_spark_frame` and come back in ``feats``' row order.
    """
    import pyarrow as pa

    from riskcohort.spark.session import get_session

    session = get_session(master)
    names = [str(n) for n in model.feature_names_in_]
    table = pa.table({ROW: np.arange(len(feats), dtype=np.int64),
                      **{n: feats[n].to_numpy(dtype="float64") for n in names}})
    sdf = session.createDataFrame(table)
    n_parts = max(1, session.sparkContext.defaultParallelism)
    out = score_spark_frame(model, sdf.repartition(n_parts)).toPandas()
    out = out.sort_values(ROW)
    if not np.array_equal(out[ROW].to_numpy(), np.arange(len(feats))):
        raise RuntimeError("spark scoring lost or duplicated rows")
    logger.info("scored %d rows on Spark in %d partitions", len(out), n_parts)
    return tuple(out[c].to_numpy(dtype="float64")  # type: ignore[return-value]
                 for c in ("margin", "score", "score_lo", "score_hi"))


def predictions(model: Any, feats: pd.DataFrame
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(margin, score, score_lo, score_hi)``: on Spark when the job runs with
    ``--engine spark`` (:func:`riskcohort.spark.session.use_engine`), else in this process."""
    from riskcohort.spark.session import selected

    engine, master = selected()
    if engine == "spark" and len(feats):
        return predict(model, feats, master)
    lo, hi = model.predict_interval(feats)
    return model.raw_margin(feats), model.predict_risk(feats), lo, hi
