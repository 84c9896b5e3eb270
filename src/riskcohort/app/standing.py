"""The model page's "which model is this": champion, challenger, the promotion decision and why.

Why on the model page: what the app serves must be what the registry calls the champion (issue
14.5); a reviewer must see whether the list in front of them comes from the model in use, from a
challenger awaiting approval, or from a run that was kept out, and why the last promotion went
the way it did. The registry is read through ``governance.status`` (the pack says the same
words); a store that is absent or unreadable is said, never fatal. Results are cached for a
minute: approvals are rare and the registry is a database round trip.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)
_TTL = 60.0
_cache: dict[str, tuple[float, dict]] = {}


def _aliases(run_id: str | None) -> dict[str, dict]:
    """alias -> {"version", "run_id", "folder"} for every alias of the registered model."""
    from riskcohort.governance.status import MODEL_NAME, _store_uri

    uri = _store_uri(None, None)
    if not uri:
        return {}
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    out = {}
    for alias, version in (c.get_registered_model(MODEL_NAME).aliases or {}).items():
        mv = c.get_model_version(MODEL_NAME, str(version))
        tags = c.get_run(mv.run_id).data.tags
        folder = tags.get("riskcohort.run_dir") or ""
        out[alias] = {"version": str(version), "run_id": mv.run_id,
                      "name": tags.get("mlflow.runName") or Path(folder).name or mv.run_id[:8],
                      "this": mv.run_id == run_id}
    return out


def model_standing(it) -> dict:
    """{"text", "champion", "challenger", "promotion", "approval", "serving_champion"} for the
    iteration the app serves (see module doc)."""
    key = str(it.root)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < _TTL:
        return hit[1]
    out = {"text": "not registered", "champion": None, "challenger": None, "promotion": None,
           "approval": None, "serving_champion": None}
    try:
        from riskcohort import runfolder
        from riskcohort.governance.status import status

        run = runfolder.open_run(it.root)
        st = status(run)
        out.update(text=st["registry"]["text"], promotion=st["promotion"],
                   approval=st.get("approval"))
        aliases = _aliases(run.manifest.get("mlflow_run_id"))
        out["champion"], out["challenger"] = aliases.get("champion"), aliases.get("challenger")
        if out["challenger"] and out["champion"] and (
                out["challenger"]["version"] == out["champion"]["version"]):
            out["challenger"] = None  # the first model is both: no challenger to speak of
        if out["champion"] is not None:
            out["serving_champion"] = bool(out["champion"]["this"])
    except Exception as exc:  # noqa: BLE001 - the registry is context, never fatal
        logger.warning("model standing not read: %s", exc)
        out["text"] = "registry not readable"
    _cache[key] = (time.monotonic(), out)
    return out
