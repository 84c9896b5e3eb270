"""``riskcohort approve VERSION --by NAME --note TEXT``: the only way the champion alias moves
after a model has one (``--auto-approve`` on retrain, for the demo, is recorded as such).

Why a person: the evidence rule (``tracking.promotion``) says a challenger is not worse; whether a
force adopts it for managing people is a human decision, taken by someone accountable. The
approval is recorded where each audience looks:

- MLflow: the model version's ``riskcohort.approval.*`` tags (governance's sign-off format,
  ``governance.signoff``) and description; the replaced champion's description says why it is no
  longer champion; the version's run gets the same tags;
- the run folder (``--run-dir``): ``approval.json``, the governance pack's sign-off record;
- the review app's audit chain (``--db URL``): one ``model_approved`` row appended with the app's
  own function (``app.audit.append``), so the board sees it next to case decisions.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from riskcohort.errors import UserError
from riskcohort.tracking import registry, store

logger = logging.getLogger(__name__)

DECISION_TAG = "promotion.decision"
STATUS_TAG = "promotion.status"


def parse_version(version) -> int:
    """``3`` / ``"3"`` / ``"v3"`` -> 3 (a clear error otherwise)."""
    text = str(version).strip().lower().removeprefix("v")
    if not text.isdigit():
        raise UserError(f"model version {version!r}: rule 'a version number such as 3 or v3'")
    return int(text)


def _evidence_failed(run) -> str | None:
    """Why the version's run says the evidence did not pass (None when it passed / no record)."""
    tags = run.data.tags
    status = tags.get(STATUS_TAG, "")
    decision = tags.get(DECISION_TAG, "")
    if status == "kept the champion" or decision in ("keep", "KEEP"):
        return tags.get("promotion.reasons", "the evidence rule kept the champion")
    return None


def _move_champion(c, version: int, previous: int | None) -> None:
    import inspect

    params = inspect.signature(registry.set_alias).parameters
    if "expected" in params:  # compare-and-set when the registry offers it
        registry.set_alias(c, registry.CHAMPION, version, expected=previous)
    else:
        registry.set_alias(c, registry.CHAMPION, version)


def record_audit(db: str, by: str, version: int, note: str, detail: dict) -> str:
    """Append ``model_approved`` to the review app's audit chain; what was done (for the report)."""
    try:
        from riskcohort.app import audit
        from riskcohort.app.db import open_db
    except ImportError as exc:  # the app extra is not installed
        raise UserError(f"--db {db}: the review app is not available ({exc}); approval recorded "
                        "in MLflow only") from None
    engine = open_db(db)
    try:
        row = audit.append(engine, actor=by, action="model_approved",
                           target=f"{registry.MODEL_NAME} v{version}",
                           detail={**detail, "note": note})
    finally:
        engine.dispose()
    return f"audit row {row} in {db}"


def approve(version, by: str, note: str, *, role: str = "not stated", run_dir=None,
            db: str | None = None, tracking_uri: str | None = None, work=None,
            auto_approved: bool = False) -> dict:
    """Move ``champion`` to ``version`` and record who approved it, when and why."""
    from riskcohort.governance import signoff

    number = parse_version(version)
    if not str(by).strip():
        raise UserError("option --by: rule 'the name of the person approving', got nothing")
    if not str(note).strip():
        raise UserError("option --note: rule 'why (or on what conditions) it is approved', "
                        "got nothing")
    c = store.client(tracking_uri, work)
    try:
        mv = c.get_model_version(registry.MODEL_NAME, str(number))
    except Exception:  # noqa: BLE001 - MLflow raises a generic error for a missing version
        raise UserError(f"model {registry.MODEL_NAME} has no version {number} in "
                        f"{c.tracking_uri}") from None
    run = c.get_run(mv.run_id)
    failed = _evidence_failed(run)
    if failed:
        raise UserError(f"model version {number}: rule 'evidence passed before approval': its "
                        f"retrain kept the champion ({failed}); it cannot be approved")
    current = registry.current_version(c, registry.CHAMPION)
    previous = int(current.version) if current is not None else None
    if previous == number:
        raise UserError(f"model version {number} is already champion; nothing to approve")
    today = dt.date.today().isoformat()
    rec = signoff.SignOff(decision="approved", name=str(by).strip(), role=role, date=today,
                          note=note, model_version=str(number), run_id=mv.run_id,
                          run=Path(run_dir).name if run_dir else None,
                          auto_approved=auto_approved,
                          recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    done = []
    if run_dir is not None:
        signoff.write(run_dir, decision="approved", name=rec.name, role=role, date=today,
                      note=note, model_version=number, run_id=mv.run_id,
                      auto_approved=auto_approved)
        done.append(f"{Path(run_dir) / signoff.FILE_NAME}")
    for key, value in rec.to_tags().items():
        c.set_model_version_tag(registry.MODEL_NAME, str(number), key, value)
        c.set_tag(mv.run_id, key, value)
    c.set_tag(mv.run_id, STATUS_TAG, "approved" if not auto_approved else "auto-approved (demo)")
    how = "AUTO-APPROVED for the demo (--auto-approve), no person signed" if auto_approved \
        else f"approved by {rec.name} ({role}) on {today}: {note}"
    _move_champion(c, number, previous)
    c.update_model_version(registry.MODEL_NAME, str(number),
                           description=f"Champion since {today}: {how}.")
    if previous is not None:
        who = "auto-approved" if auto_approved else f"approved by {rec.name}"
        c.update_model_version(registry.MODEL_NAME, str(previous),
                               description=f"Not champion: replaced by version {number} on "
                                           f"{today} ({who}).")
    done.append(f"MLflow tags and description of {registry.MODEL_NAME} v{number}")
    if db:
        done.append(record_audit(db, rec.name, number, note,
                                 {"previous_champion": previous, "role": role,
                                  "run_id": mv.run_id, "auto_approved": auto_approved}))
    return {"version": number, "previous_champion": previous, "by": rec.name, "role": role,
            "note": note, "date": today, "auto_approved": auto_approved, "recorded": done}

