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
from typing import Any, TypedDict

logger = logging.getLogger(__name__)
_TTL = 60.0


class Alias(TypedDict):
    """One alias of the registered model, as the model page names it."""

    version: str
    run_id: str
    name: str
    this: bool


class Standing(TypedDict):
    """What the model page says about the registry (keys read by the template)."""

    text: str
    champion: Alias | None
    challenger: Alias | None
    promotion: dict[str, Any] | None
    approval: dict[str, Any] | None
    serving_champion: bool | None


_cache: dict[str, tuple[float, Standing]] = {}


def _aliases(run_id: str | None) -> dict[str, Alias]:
    """alias -> {"version", "run_id", "name", "this"} for every alias of the registered model."""
    from riskcohort.governance.status import MODEL_NAME, _store_uri

    uri = _store_uri(None, None)
    if not uri:
        return {}
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    out: dict[str, Alias] = {}
    for alias, version in (c.get_registered_model(MODEL_NAME).aliases or {}).items():
        mv = c.get_model_version(MODEL_NAME, str(version))
        if mv.run_id is None:  # registered from a path, not a run: nothing to name it by
            raise ValueError(f"{MODEL_NAME} version {version} ({alias}) has no MLflow run")
        tags = c.get_run(mv.run_id).data.tags
        folder = tags.get("riskcohort.run_dir") or ""
        out[alias] = {"version": str(version), "run_id": mv.run_id,
                      "name": tags.get("mlflow.runName") or Path(folder).name or mv.run_id[:8],
                      "this": mv.run_id == run_id}
    return out


def model_standing(it) -> Standing:
    """{"text", "champion", "challenger", "promotion", "approval", "serving_champion"} for the
    iteration the app serves (see module doc)."""
    key = str(it.root)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < _TTL:
        return hit[1]
    out: Standing = {"text": "not registered", "champion": None, "challenger": None,
                     "promotion": None, "approval": None, "serving_champion": None}
    try:
        from riskcohort import runfolder
        from riskcohort.governance.status import status

        run = runfolder.open_run(it.root)
        st = status(run)
        out["text"] = st["registry"]["text"]
        out["promotion"] = st["promotion"]
        out["approval"] = st.get("approval")
        aliases = _aliases(run.manifest.get("mlflow_run_id"))
        champion, challenger = aliases.get("champion"), aliases.get("challenger")
        if challenger and champion and challenger["version"] == champion["version"]:
            challenger = None  # the first model is both: no challenger to speak of
        out["champion"], out["challenger"] = champion, challenger
        if champion is not None:
            out["serving_champion"] = bool(champion["this"])
    except Exception as exc:  # noqa: BLE001 - the registry is context, never fatal
        logger.warning("model standing not read: %s", exc)
        out["text"] = "registry not readable"
    _cache[key] = (time.monotonic(), out)
    return out
