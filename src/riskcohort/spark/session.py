"""One SparkSession per process, configured for riskcohort: offline, quiet, no UI, UTC.

Why here (a foundation module, no stage imports): the features engine (``--engine spark``) and the
distributed scoring both need the same session, and the environment faults (no ``pyspark``, no
Java) must become one plain line, not a Py4J traceback, wherever Spark is first touched.

Settings and why:

* ``spark.sql.session.timeZone=UTC``: contract timestamps are naive; with UTC the Arrow round trip
  pandas -> Spark -> pandas returns the same wall-clock values, so features equal DuckDB's.
* ``spark.ui.enabled=false``: no web server on a police analyst's machine (port 4040).
* ``spark.local.dir`` and the Derby/warehouse folders under one temporary folder, removed at exit.
* Arrow transfers both ways, with no fallback to the slow row-by-row path.
* Nothing fetched at run time: no ``spark.jars.packages``; Ivy/Maven are never consulted.
* Logs at ERROR (Spark's INFO/WARN chatter is not for officers).

``master`` ``local[N]`` runs Spark in this process's JVM (N worker threads); ``spark://...``,
``yarn`` or ``k8s://...`` point at a real cluster. Under ``spark-submit`` (docs/scale.md) its
``--master`` and memory settings win and ``master`` is ignored; a session already active is
reused as it is.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
#: Spark's own shuffle default (200 partitions) is tuned for clusters; a local run with a few
#: threads spends most of its time scheduling empty tasks. A cluster keeps Spark's default.
LOCAL_SHUFFLE_PARTITIONS = 4
_LOCK = threading.Lock()
_LOG4J = """\
rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.submit.name = org.apache.spark.deploy.SparkSubmit
logger.submit.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} spark %p %c{1}: %m%n%ex
"""


def check_available() -> None:
    """Raise a one-line ``UserError`` when pyspark or Java is missing (before any JVM start).

    >>> check_available()  # doctest: +SKIP
    """
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UserError(
            "--engine spark: pyspark is not installed; install it with "
            "`pip install 'riskcohort[spark]'` (or use --engine duckdb)") from None
    java_home = os.environ.get("JAVA_HOME")
    java = (os.path.join(java_home, "bin", "java") if java_home else None) or shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no `java` on PATH"
        raise UserError(
            f"--engine spark: Java is not available ({where}); install a Java 17 runtime "
            "(Debian: apt-get install openjdk-17-jre-headless) or use --engine duckdb")


def _is_local(master: str) -> bool:
    return master.startswith("local")


def _config(master: str, tmp: str) -> dict[str, str]:
    log4j = os.path.join(tmp, "log4j2.properties")
    with open(log4j, "w", encoding="utf-8") as fh:
        fh.write(_LOG4J)
    # found on the launcher's classpath (SPARK_CONF_DIR) before Spark's defaults are applied; a
    # SPARK_CONF_DIR already set (a cluster's) keeps its own logging
    os.environ.setdefault("SPARK_CONF_DIR", tmp)
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={tmp}"
    conf = {
        "spark.app.name": "riskcohort",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.local.dir": os.path.join(tmp, "local"),
        "spark.sql.warehouse.dir": os.path.join(tmp, "warehouse"),
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": java_opts,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.ansi.enabled": "false",  # SQL NULL semantics as DuckDB (e.g. x / 0 -> NULL)
        # the driver holds the input tables sent from pandas (Arrow) and the aggregates that
        # come back; ``local[N]`` runs everything in this one JVM
        "spark.driver.memory": os.environ.get("RISKCOHORT_SPARK_DRIVER_MEMORY", "4g"),
        # the per-person aggregates come back to the driver by design (the frame is built
        # there); Spark's 1 GB default would stop a national build half way
        "spark.driver.maxResultSize": os.environ.get("RISKCOHORT_SPARK_MAX_RESULT", "0"),
    }
    if _is_local(master):
        # Python workers (distributed scoring) run this interpreter: riskcohort and LightGBM.
        # pyspark reads the variable when the context starts (``spark.pyspark.python`` is not
        # enough for local workers)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        conf["spark.sql.shuffle.partitions"] = str(LOCAL_SHUFFLE_PARTITIONS)
        conf["spark.driver.bindAddress"] = "127.0.0.1"  # never listen beyond this machine
        conf["spark.driver.host"] = "127.0.0.1"
    return conf


def get_session(master: str | None = None) -> Any:
    """The process's SparkSession (started on first use with :func:`_config`).

    Raises ``UserError`` (one line) when pyspark or Java is missing or the JVM does not start.
    """
    check_available()
    from pyspark.sql import SparkSession

    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        master = master or DEFAULT_MASTER
        tmp = tempfile.mkdtemp(prefix="riskcohort-spark-")
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        builder = SparkSession.builder
        if os.environ.get("PYSPARK_GATEWAY_PORT"):  # under spark-submit: its master and memory
            master = "spark-submit"
            conf = {k: v for k, v in _config("cluster", tmp).items()
                    if not k.startswith("spark.driver.")}
        else:
            builder = builder.master(master)
            conf = _config(master, tmp)
        for key, value in conf.items():
            builder = builder.config(key, value)
        logger.info("starting Spark (%s)", master)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # JVM did not start: Py4J/pyspark word it in many ways
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"--engine spark: Spark did not start on master {master!r}: "
                            f"{first}") from None
        session.sparkContext.setLogLevel("ERROR")
        return session


def stop_session() -> None:
    """Stop the process's session if one is running (tests; a long-lived app)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()


#: Engines of ``--engine``: DuckDB in this process (default) or Apache Spark.
ENGINES = ("duckdb", "spark")
_SELECTED: list[tuple[str, str | None]] = [("duckdb", None)]


@contextlib.contextmanager
def use_engine(engine: str = "duckdb", master: str | None = None) -> Iterator[None]:
    """Run the enclosed job with ``engine`` (``--engine``) and Spark ``master``.

    Why a process-wide setting and not a parameter: a job (``run``, ``score``) builds features and
    scores in several stages; the option picks *where* they run, not *what* they compute, so it
    is set once by the command instead of threaded through every stage's signature. Not
    thread-local on purpose: stages may build features from worker threads.

    >>> with use_engine("spark", "local[1]"):
    ...     selected()
    ('spark', 'local[1]')
    >>> selected()
    ('duckdb', None)
    """
    if engine not in ENGINES:
        raise UserError(f"option --engine: rule one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "spark":
        check_available()
    _SELECTED.append((engine, (master or DEFAULT_MASTER) if engine == "spark" else None))
    try:
        yield
    finally:
        _SELECTED.pop()


def selected() -> tuple[str, str | None]:
    """``(engine, master)`` chosen by the innermost :func:`use_engine` (DuckDB by default)."""
    return _SELECTED[-1]
