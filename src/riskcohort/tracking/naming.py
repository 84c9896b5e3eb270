"""What a data scientist sees in MLflow: run names, nesting, descriptions, experiment tags.

Why: the MLflow UI is where a new analyst finds their way, so a run is named after the iteration
it is (the run folder's name: ``iteration-2``, not ``iteration-3-small@2025-09-30``), each
baseline run is nested under its model run (``mlflow.parentRunId``) and named by system and
as-of date, every run and the experiment carry a description (``mlflow.note.content``), and the
model run is tagged with its label family so iterations of different outcome definitions are
never mistaken for one another.
"""

from __future__ import annotations

from riskcohort.tracking import registry

NOTE = "mlflow.note.content"
PARENT = "mlflow.parentRunId"
ITERATION_TAG = "riskcohort.iteration"


def iteration_name(run) -> str:
    """The iteration a run folder is: its folder name (what the demo and the team call it)."""
    return run.root.name or (run.manifest.experiment or "iteration")


def family(manifest) -> str:
    """The label family of a run (config, else the family of its offence list)."""
    from riskcohort.features.families import DEFAULT_FAMILY, family_of

    cfg = manifest.config or {}
    if cfg.get("label_family"):
        return str(cfg["label_family"])
    offences = manifest.serious_offences or cfg.get("serious_offences")
    return family_of(offences) if offences else DEFAULT_FAMILY


def model_tags(run) -> dict[str, str]:
    """Tags of a model run: iteration, label family and a one-paragraph description."""
    m = run.manifest
    name = iteration_name(run)
    kind = "backtest (outcomes known: evaluated)" if m.backtest else "scoring now (no outcomes)"
    note = (f"**{name}** - experiment `{m.experiment}`, as of {m.as_of}, {kind}. Cohort of "
            f"{m.k}; outcome: label family `{family(m)}` ({', '.join(m.serious_offences or [])}"
            f"{', domestic only' if m.domestic_only else ''}) within {m.horizon_days} days. "
            f"Data fingerprint `{(m.fingerprint or '')[:12]}`. Baseline runs are nested below; "
            "the registered model is "
            f"`{registry.MODEL_NAME}` (see its versions' aliases and descriptions).")
    tags = {ITERATION_TAG: name, "label_family": family(m), NOTE: note}
    tags.update(lineage_tags(run))
    return tags


def lineage_tags(run) -> dict[str, str]:
    """``dataset.fingerprint`` / ``dataset.base_fingerprint`` when the run's data folder is a
    dataset version written by ``riskcohort data update`` (its ``dataset.json``)."""
    import json

    d = getattr(run, "data_dir", None)
    path = d / "dataset.json" if d is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {f"dataset.{k}": str(manifest[k]) for k in ("fingerprint", "base_fingerprint",
                                                      "contract_version") if manifest.get(k)}
    if manifest.get("lineage"):
        out["dataset.lineage"] = ",".join(manifest["lineage"])[:5000]
    return out


def baseline_name(system: str, as_of: str) -> str:
    """``DASH/DARA @ 2025-09-30``: the system's display name and the date it ranked at."""
    from riskcohort import display

    return f"{display.system_name(system)} @ {as_of or 'unknown'}"


def baseline_tags(system: str, parent: str, as_of: str) -> dict[str, str]:
    """Nesting and description of one baseline run."""
    return {PARENT: parent, "mlflow.runName": baseline_name(system, as_of),
            NOTE: f"Baseline `{system}` ranked on the same people and date ({as_of}) as its "
                  "parent model run; same metric names, for side-by-side comparison."}


def describe_experiment(c, exp_id: str, run) -> None:
    """Experiment description and tags (set when missing, so a user's own text is kept)."""
    exp = c.get_experiment(exp_id)
    tags = exp.tags or {}
    if not tags.get(NOTE):
        c.set_experiment_tag(exp_id, NOTE, (
            f"Iterations of `{exp.name}`: one **model run** per iteration (named after its run "
            "folder), with the rules it is compared with (DASH/DARA, RFG-V, harm sum, previous "
            "iteration, incumbent, oracle when known) as **nested baseline runs** carrying the "
            "same metric names. Compare with `riskcohort compare --experiment "
            f"{exp.name}`. The cohort supports a human decision; it never makes one."))
    for key, value in {"riskcohort.project": "riskcohort",
                       "riskcohort.registered_model": registry.MODEL_NAME}.items():
        if tags.get(key) != value:
            c.set_experiment_tag(exp_id, key, value)
    fam_key = "riskcohort.label_families"
    families = set(filter(None, (tags.get(fam_key) or "").split(","))) | {family(run.manifest)}
    joined = ",".join(sorted(families))
    if tags.get(fam_key) != joined:
        c.set_experiment_tag(exp_id, fam_key, joined)
