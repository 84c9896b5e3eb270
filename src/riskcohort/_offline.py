"""Telemetry off and network-free defaults, set before any third-party library is imported.

Police networks are air-gapped: Great Expectations, MLflow and friends must never try to phone
home. ``riskcohort/__init__.py`` imports this module first, so every entry point (CLI, API,
tests) gets these settings before ``great_expectations`` or ``mlflow`` are imported. Values a
user has already set explicitly are respected (``setdefault``), except the telemetry switches,
which are forced off.
"""

from __future__ import annotations

import os

FORCED = {
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
}
DEFAULTS = {
    # Do not let MLflow look for a git binary or remote repo to stamp runs.
    "GIT_PYTHON_REFRESH": "quiet",
    "MPLBACKEND": "Agg",
}


def apply() -> None:
    """Force telemetry off and set offline defaults in this process's environment."""
    os.environ.update(FORCED)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


apply()
