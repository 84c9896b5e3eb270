"""Model registry: ``da-threat-to-life`` with aliases ``champion`` and ``challenger``.

Order matters for safety. A version is registered only from a run that FINISHED with the
``riskcohort.complete`` tag (set after every artifact was logged), and an alias is moved only
onto such a version, last. So an interrupted run leaves no version and no alias pointing at an
incomplete model, and re-running reuses the version already registered for that run.
Aliases, not stages: stages are deprecated in MLflow.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from riskcohort import interrupts
from riskcohort.errors import UserError
from riskcohort.tracking import store

MODEL_NAME = "da-threat-to-life"
CHAMPION, CHALLENGER = "champion", "challenger"
COMPLETE_TAG = "riskcohort.complete"
MODEL_URI_TAG = "riskcohort.model_uri"


#: Version descriptions: every version says whether it is champion and, if not, why.
NOT_CHAMPION_YET = ("Registered from run {name} (as of {as_of}). Not champion: a challenger until "
                    "the evidence rule passes and a person approves it (`riskcohort approve "
                    "<version> --by NAME --note TEXT`).")
FIRST_CHAMPION = ("Champion: the first registered model (there was nothing to compare it with). "
                  "Later versions become champion only through `riskcohort approve`.")


def _check_complete(c, run_id: str):
    try:
        run = c.get_run(run_id)
    except Exception:  # noqa: BLE001 - an unknown id is the user's mistake
        raise UserError(f"MLflow run {run_id!r} not found in {c.tracking_uri}") from None
    tags = run.data.tags
    if run.info.status != "FINISHED" or tags.get(COMPLETE_TAG) != "true":
        raise UserError(f"MLflow run {run_id} is {run.info.status} and not complete: "
                        "it cannot be registered (re-run `riskcohort run` to log it again)")
    if tags.get("kind") != "model" or MODEL_URI_TAG not in tags:
        raise UserError(f"MLflow run {run_id} is not a model run (kind={tags.get('kind')})")
    return run


def _ensure_registered_model(c) -> None:
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(MODEL_NAME)
    except MlflowException:
        try:
            c.create_registered_model(
                MODEL_NAME, description="Ranks DA perpetrators by risk of serious harm within "
                "365 days. Supports a human decision; never makes one.")
        except MlflowException:  # created by a concurrent process meanwhile
            c.get_registered_model(MODEL_NAME)


def current_version(c, alias: str):
    """The model version an alias points to, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return c.get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None


_ANY = object()


def set_alias(c, alias: str, version, *, expected=_ANY) -> None:
    """Point ``alias`` at ``version`` after checking the version's run is complete.

    Compare-and-set: with ``expected`` (a version number, or None for "no alias yet") the move
    happens only if the alias still points there, checked and moved under the registry lock,
    so two processes deciding from the same state cannot both move it.
    """
    mv = c.get_model_version(MODEL_NAME, str(version))
    if mv.status != "READY":
        raise UserError(f"model version {version} is {mv.status}; alias {alias!r} not moved")
    _check_complete(c, mv.run_id)
    with store.registry_lock(c.tracking_uri):
        if expected is not _ANY:
            now = current_version(c, alias)
            now = int(now.version) if now is not None else None
            if now != (int(expected) if expected is not None else None):
                raise UserError(f"alias {alias!r} of {MODEL_NAME} moved to version {now} while "
                                f"this command decided from version {expected}; not moved to "
                                f"{version} (re-run the command to decide again)")
        c.set_registered_model_alias(MODEL_NAME, alias, str(version))


def ensure_first_champion(c) -> int | None:
    """With no champion yet, make the FIRST registered model (the lowest READY version whose
    run is complete) champion, under the registry lock; the champion's version.

    Why the lowest, not "mine": two first runs registering at once both see no champion; each
    pointing it at its own version left the later one. And a process killed between creating
    its version and setting the alias left the first model with no champion: the next
    registration repairs that here.
    """
    with store.registry_lock(c.tracking_uri):
        current = current_version(c, CHAMPION)
        if current is not None:
            return int(current.version)
        versions = sorted(c.search_model_versions(f"name='{MODEL_NAME}'"),
                          key=lambda v: int(v.version))
        for mv in versions:
            if mv.status != "READY":
                continue
            try:
                _check_complete(c, mv.run_id)
            except UserError:
                continue
            c.set_registered_model_alias(MODEL_NAME, CHAMPION, str(mv.version))
            c.update_model_version(MODEL_NAME, str(mv.version), description=FIRST_CHAMPION)
            return int(mv.version)
    return None


def register_model(run_id: str, alias: str | None = CHALLENGER, tracking_uri: str | None = None,
                   work: str | Path | None = None, first_is_champion: bool = True) -> int:
    """Register the model of a complete run (once) and point ``alias`` at it; the version.

    With ``first_is_champion``, when no champion exists yet this model also becomes champion.
    """
    c = store.client(tracking_uri, work)
    run = _check_complete(c, run_id)
    _ensure_registered_model(c)
    found = c.search_model_versions(f"name='{MODEL_NAME}' and run_id='{run_id}'")
    if found:
        mv = found[0]
    else:
        uri = run.data.tags[MODEL_URI_TAG]
        model_id = uri.split("/", 1)[1] if uri.startswith("models:/m-") else None
        mv = c.create_model_version(
            MODEL_NAME, source=uri, run_id=run_id, model_id=model_id,
            tags={"experiment": run.data.tags.get("experiment", ""),
                  "as_of": run.data.tags.get("as_of", "")},
            description=NOT_CHAMPION_YET.format(name=run.info.run_name,
                                                as_of=run.data.tags.get("as_of", "")))
    if mv.status != "READY":
        raise UserError(f"model version {mv.version} is {mv.status}, not READY")
    interrupts.checkpoint("registered")  # fault-injection hook: killed before any alias
    if alias:
        set_alias(c, alias, mv.version)
    if first_is_champion:
        ensure_first_champion(c)
    return int(mv.version)


@dataclass
class RegisteredModel:
    """A registered model materialised as a run-folder ``model/`` directory."""

    name: str
    version: int
    run_id: str
    aliases: list[str]
    model_dir: Path  # model.txt, calibrator.json, feature_names.json (run folder layout)


def model_uri(alias_or_version) -> str:
    """``models:/`` URI for an alias, a version number or an existing URI.

    >>> model_uri("champion"), model_uri(3)
    ('models:/da-threat-to-life@champion', 'models:/da-threat-to-life/3')
    >>> model_uri("v2")
    'models:/da-threat-to-life/2'
    """
    ref = str(alias_or_version)
    if ref.startswith("models:/"):
        return ref
    digits = ref[1:] if ref[:1] in "vV" else ref
    if digits.isdigit():
        return f"models:/{MODEL_NAME}/{int(digits)}"
    return f"models:/{MODEL_NAME}@{ref}"


def resolve_version(c, alias_or_version):
    """The ModelVersion for an alias or number; UserError naming what exists when missing."""
    uri = model_uri(alias_or_version)
    ref = uri.removeprefix(f"models:/{MODEL_NAME}")
    from mlflow.exceptions import MlflowException

    try:
        if ref.startswith("@"):
            return c.get_model_version_by_alias(MODEL_NAME, ref[1:])
        return c.get_model_version(MODEL_NAME, ref.lstrip("/"))
    except MlflowException:
        try:
            known = sorted(c.get_registered_model(MODEL_NAME).aliases)
        except MlflowException:
            known = []
        raise UserError(f"no registered model {MODEL_NAME!r} {alias_or_version!r} in "
                        f"{c.tracking_uri} (aliases: {known or 'none'}); run "
                        "`riskcohort run` or `riskcohort retrain` first") from None


def load_registered(alias_or_version: str | int = "champion", tracking_uri: str | None = None,
                    dst: str | Path | None = None,
                    work: str | Path | None = None) -> RegisteredModel:
    """Download a registered model into ``dst/model`` laid out as a run folder's ``model/``."""
    import mlflow

    c = store.client(tracking_uri, work)
    mv = resolve_version(c, alias_or_version)
    dst = Path(dst or tempfile.mkdtemp(prefix="riskcohort-model-"))
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{MODEL_NAME}/{mv.version}", dst_path=tmp))
        model_dir = dst / "model"
        saved = [p.parent for p in (local / "artifacts").glob("*/model.txt")]  # pyfunc artifact
        if saved:
            shutil.copytree(saved[0], model_dir, dirs_exist_ok=True)
    if not (model_dir / "model.txt").exists():
        raise UserError(f"registered model version {mv.version} has no model.txt")
    return RegisteredModel(MODEL_NAME, int(mv.version), mv.run_id, list(mv.aliases), model_dir)
