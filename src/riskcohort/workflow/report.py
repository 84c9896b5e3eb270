"""The governance pack job: the pack of a run folder, with the review app's decision audit.

Why here: the decision audit (issue 19.6) is computed by the app from its database - one owner,
the same function the governance page calls (``riskcohort.app.decision_audit``) - while the pack
is written by the governance stage, which may not import the app (one-way layering). This job
joins the two: it asks the app for the audit as plain data and hands it to the pack, which only
renders it. So the page and the pack cannot disagree, and the pack stays buildable without any
database (then it says how to include the audit).
"""

from __future__ import annotations

from pathlib import Path

from riskcohort import governance


def governance_report(run_dir: str | Path, *, db: str | None = None,
                      data: str | Path | None = None, **options) -> Path:
    """Write the governance pack of ``run_dir`` (options as ``governance.report``); with ``db``
    (the review app's database) its decision-audit section shows the team's decisions, with
    ``data`` the folder of the persons table (default: the run's data folder)."""
    audit = None
    if db:
        from riskcohort.app.decision_audit import for_run

        audit = for_run(db, run_dir, data)
    return governance.report(run_dir, decision_audit=audit, **options)
