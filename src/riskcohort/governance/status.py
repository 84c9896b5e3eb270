"""Where this model stands: promotion decision, champion/challenger status, the board's sign-off.

Why on the first page: a board must know before anything else whether it is reading about the
model in use (champion), one proposed to replace it (challenger), or one that was kept out, and
whether anyone has signed it off. The registry is read only when a store already exists (never
created by reading); otherwise the pack says "not registered".
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from riskcohort.governance import signoff
from riskcohort.io import read_json

logger = logging.getLogger(__name__)
MODEL_NAME = "da-threat-to-life"
NOT_REGISTERED = "not registered"


def _store_uri(tracking_uri: str | None, work) -> str | None:
    """The tracking URI to read, or None when no existing store is known (never create one)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    work = work or os.environ.get("RISKCOHORT_WORK")
    if work and (Path(work) / "mlflow.db").is_file():
        return f"sqlite:///{(Path(work) / 'mlflow.db').resolve()}"
    return None


def registry(run_id: str | None, tracking_uri: str | None = None, work=None) -> dict:
    """{"registered", "version", "aliases", "champion_version", "tags", "promotion", "text"}."""
    out: dict[str, Any] = {"registered": False, "version": None, "aliases": [],
                           "champion_version": None,
           "tags": {}, "promotion": None, "text": NOT_REGISTERED}
    uri = _store_uri(tracking_uri, work)
    if not run_id or not uri:
        return out
    try:
        from mlflow import MlflowClient

        c = MlflowClient(tracking_uri=uri, registry_uri=uri)
        versions = c.search_model_versions(f"name='{MODEL_NAME}' and run_id='{run_id}'")
        try:
            champion = c.get_model_version_by_alias(MODEL_NAME, "champion")
        except Exception:  # noqa: BLE001 - no champion yet
            champion = None
        run_tags = c.get_run(run_id).data.tags
    except Exception as exc:  # noqa: BLE001 - the registry is context, never fatal
        logger.warning("registry not read (%s): %s", uri, exc)
        out["text"] = "registry not readable"
        return out
    out["champion_version"] = None if champion is None else str(champion.version)
    if run_tags.get("promotion.decision"):
        out["promotion"] = {"decision": run_tags["promotion.decision"],
                            "reasons": run_tags.get("promotion.reasons", "")}
    if not versions:
        return out
    mv = max(versions, key=lambda v: int(v.version))
    with contextlib.suppress(Exception):  # search results may leave aliases out
        mv = c.get_model_version(MODEL_NAME, str(mv.version))
    aliases = list(getattr(mv, "aliases", []) or [])
    out.update(registered=True, version=str(mv.version), aliases=aliases,
               tags=dict(mv.tags or {}))
    role = ("champion (the model in use)" if "champion" in aliases else
            "challenger (proposed, not in use)" if "challenger" in aliases else
            "registered, neither champion nor challenger")
    out["text"] = f"version {mv.version}: {role}"
    return out


def promotion(run, reg: dict) -> dict | None:
    """The promotion decision: ``promotion.json`` attached to the run folder (retrain), else the
    run's MLflow tags; None when this run was never compared with a champion."""
    from riskcohort.runfolder import layout

    attached = run.attachments.get(layout.PROMOTION_JSON)
    p = read_json(attached, default=None) if attached else None
    if isinstance(p, dict) and ("promote" in p or "decision" in p):
        promote = p.get("promote")
        decision = p.get("decision") or ("promote" if promote else "keep the champion")
        reasons = p.get("reasons") or []
        return {"decision": str(decision), "reasons": reasons if isinstance(reasons, list)
                else [str(reasons)], "dry_run": bool(p.get("dry_run"))}
    if reg.get("promotion"):
        r = reg["promotion"]
        return {"decision": r["decision"], "reasons": [x for x in r["reasons"].split("; ") if x],
                "dry_run": False}
    return None


def status(run, tracking_uri: str | None = None, work=None) -> dict:
    """Everything the first page says about the model's standing."""
    reg = registry(run.manifest.get("mlflow_run_id"), tracking_uri, work)
    approval = signoff.read(run.root, reg.get("tags"))
    return {"registry": reg, "promotion": promotion(run, reg), "approval": approval}


def previous_from_registry(run, tracking_uri: str | None = None, work=None) -> Path | None:
    """The previous iteration's folder when run.json records it by MLflow run id: the folder that
    run was logged from (its ``riskcohort.run_dir`` tag), if it is still there. Only looked up,
    never shown: the pack names the folder, not the machine's path."""
    recorded = run.manifest.get("previous_run")
    uri = _store_uri(tracking_uri, work)
    if not recorded or not uri or "/" in str(recorded) or len(str(recorded)) != 32:
        return None
    try:
        from mlflow import MlflowClient

        tags = MlflowClient(tracking_uri=uri).get_run(str(recorded)).data.tags
    except Exception as exc:  # noqa: BLE001 - no drift section, not an error
        logger.warning("previous run %s not found in %s: %s", recorded, uri, exc)
        return None
    d = tags.get("riskcohort.run_dir")
    return Path(d) if d and Path(d).is_dir() else None

