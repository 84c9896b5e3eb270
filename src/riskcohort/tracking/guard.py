"""The champion's run folder is never overwritten: a guard for ``RunWriter(overwrite=True)``.

Why: the registry's champion was once served from a run folder that a later ``--overwrite``
replaced, after which ``serve --model champion`` found nothing (or, worse, another model's
reasons). The registry keeps the model itself, but the review app serves the champion's run
folder (scores, explanations), so that folder is protected: replacing it is refused with a
message naming the registry version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from riskcohort.errors import UserError
from riskcohort.tracking import registry, store

logger = logging.getLogger(__name__)


def _folder_run_id(folder: Path) -> str | None:
    from riskcohort.runfolder import read_manifest

    try:
        return read_manifest(folder).mlflow_run_id
    except UserError:  # not a run folder of this version: cannot be the champion's record
        return None


def champion_guard(tracking_uri: str | None = None, work=None) -> Callable[[Path], None]:
    """A guard refusing to replace the folder the champion model was logged from.

    The folder is the champion's when its run.json records the champion's MLflow run, or when
    that run's ``riskcohort.run_dir`` tag names it. A store that does not exist yet has no
    champion (nothing is created to find out).
    """
    uri = store.resolve_tracking_uri(tracking_uri, work)

    def guard(folder: Path) -> None:
        db = store.sqlite_path(uri)
        if db is not None and not db.exists():
            return
        c = store.client(uri)
        champion = registry.current_version(c, registry.CHAMPION)
        if champion is None:
            return
        tagged = c.get_run(champion.run_id).data.tags.get("riskcohort.run_dir")
        same_tag = tagged is not None and Path(tagged).resolve() == Path(folder).resolve()
        if same_tag or _folder_run_id(folder) == champion.run_id:
            raise UserError(
                f"output folder {folder}: holds the champion model ({registry.MODEL_NAME} "
                f"version {champion.version}, MLflow run {champion.run_id}); rule: the "
                "champion's run folder is never overwritten; choose another --out")

    return guard
