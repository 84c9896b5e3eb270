"""App factory for multi-process serving (``riskcohort serve --workers N``).

uvicorn starts each worker process from an import string, so the configuration travels in one
environment variable (JSON) and every worker loads the run folders and opens the database itself.
Sessions, login throttling and the audit chain live in the database, so workers agree on them.
"""

from __future__ import annotations

import json
import os

ENV = "RISKCOHORT_APP_CONFIG"


def config_env(runs: list[str], db: str, settings: dict,
               audit_key: str | None = None) -> dict[str, str]:
    """The environment entry that :func:`build` reads (the key's *path*, never the key)."""
    return {ENV: json.dumps({"runs": runs, "db": db, "settings": settings,
                             "audit_key": audit_key})}


def build():
    """Create the app in a worker process from ``RISKCOHORT_APP_CONFIG``."""
    from riskcohort.app.commands import check_runs
    from riskcohort.app.db import open_db
    from riskcohort.app.rundata import load_runs
    from riskcohort.app.web import Settings, create_app

    cfg = json.loads(os.environ[ENV])
    runs = load_runs(cfg["runs"])
    check_runs(runs)
    return create_app(runs, open_db(cfg["db"], cfg.get("audit_key"), create_key=False),
                      Settings(**cfg["settings"]))
