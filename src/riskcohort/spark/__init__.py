"""Apache Spark plumbing shared by the stages (``--engine spark``): the session and its faults.

Only :mod:`riskcohort.spark.session` lives here; the features engine's Spark path is
``riskcohort.features.spark_engine`` and distributed scoring ``riskcohort.modelling.spark_scoring``.
Importing this package does not import pyspark (it is an optional extra: ``riskcohort[spark]``).
"""

from riskcohort.spark.session import (
    DEFAULT_MASTER,
    ENGINES,
    check_available,
    get_session,
    selected,
    stop_session,
    use_engine,
)

__all__ = ["DEFAULT_MASTER", "ENGINES", "check_available", "get_session", "selected",
           "stop_session", "use_engine"]
