"""The stricter promotion evidence retrain gathers, and what it records after deciding.

Why apart from the rule: ``promotion.decide_promotion`` stays a pure function of numbers; this
module finds the numbers - top-k calibration on the challenger's backtest window, the fairness
flags of both run folders (``fairness.json``, written by the governance pack), the largest input
PSI between the champion's scored snapshot and the challenger's, and what changed in the data
since the champion's (``datasets.changes.compare_versions``) - each ``None`` when it cannot be
found, so the decision notes it rather than inventing it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from riskcohort.tracking import promotion, registry

logger = logging.getLogger(__name__)

RUN_DIR_TAG = "riskcohort.run_dir"
STATUS_TAG = "promotion.status"


def _champion_run(c, champion):
    """(MLflow run, verified run folder or None) of the champion version."""
    from riskcohort import runfolder

    if champion is None:
        return None, None
    run = c.get_run(champion.run_id)
    path = run.data.tags.get(RUN_DIR_TAG)
    if not path or not Path(path).is_dir():
        return run, None
    try:
        return run, runfolder.open_run(path)
    except Exception as exc:  # noqa: BLE001 - a moved or edited folder: evidence not available
        logger.warning("champion run folder %s cannot be read (%s)", path, exc)
        return run, None


def _fairness(folder) -> set[str] | None:
    if folder is None:
        return None
    path = Path(folder.root) / "fairness.json"
    if not path.is_file():
        return None
    import json

    return promotion.fairness_keys(json.loads(path.read_text(encoding="utf-8")))


def _psi(champ_folder, chall_dir) -> float | None:
    from riskcohort import runfolder
    from riskcohort.governance.drift import psi_table

    if champ_folder is None or champ_folder.features is None:
        return None
    chall = runfolder.open_run(chall_dir).features
    if chall is None:
        return None
    cols = [c for c in chall.columns if c not in ("person_id", "as_of")]
    table = psi_table(champ_folder.features, chall, cols)
    return float(table["psi"].max()) if len(table) else None


def _data_dir(folder) -> Path | None:
    d = getattr(folder, "data_dir", None) if folder is not None else None
    return d if d is not None and Path(d).is_dir() else None


def gather(c, champion, result, cfg, data_dir) -> dict:
    """``topk``, ``fairness`` (challenger, champion), ``psi`` and ``data_changes`` (or None)."""
    ev = result.evaluation
    topk = None
    from riskcohort.runfolder import layout as L

    if ev is not None and "serious_harm" in ev and L.MODEL_SYSTEM in ev:
        topk = promotion.topk_calibration(ev["serious_harm"], ev[L.MODEL_SYSTEM], int(cfg.k))
    _, champ_folder = _champion_run(c, champion)
    chall_fair = _fairness(_open(result.out_dir))
    out: dict[str, Any] = {"topk": topk, "fairness": (chall_fair, _fairness(champ_folder)),
                           "psi": None, "data_changes": None}
    if champion is None:
        return out
    try:
        out["psi"] = _psi(champ_folder, result.out_dir)
    except Exception as exc:  # noqa: BLE001 - drift is evidence, not a reason to fail retrain
        logger.warning("PSI between the champion and the challenger not computed: %s", exc)
    old = _data_dir(champ_folder)
    if old is not None:
        from riskcohort.datasets.changes import compare_versions

        try:
            out["data_changes"] = compare_versions(old, data_dir, getattr(cfg, "path", None))
        except Exception as exc:  # noqa: BLE001 - reported as not available
            logger.warning("data changes since the champion not computed: %s", exc)
    return out


def _open(run_dir):
    from riskcohort import runfolder

    try:
        return runfolder.open_run(run_dir)
    except Exception:  # noqa: BLE001
        return None


def record(c, run_id: str, decision, data_changes: dict | None, dry_run: bool) -> None:
    """Status tag, data-change metrics and artifact on the challenger run; the challenger
    version's description says it awaits approval (or why it was not promoted)."""
    import json
    import tempfile

    c.set_tag(run_id, STATUS_TAG, decision.status + (" (dry run)" if dry_run else ""))
    if data_changes is not None:
        flips = data_changes.get("label_flips") or []
        c.log_metric(run_id, "data_label_flips", len(flips))
        c.log_metric(run_id, "data_reclassified", len(data_changes.get("reclassified") or []))
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "data_changes.json"
            p.write_text(json.dumps(data_changes, indent=1, default=str), encoding="utf-8")
            c.log_artifact(run_id, str(p))
    version = decision.challenger_version
    if dry_run or version is None or decision.status == promotion.FIRST:
        return
    if decision.status == promotion.AWAITING:
        text = (f"Not champion: the evidence passed against version {decision.champion_version}"
                f"; awaiting a person's approval (`riskcohort approve {version} --by NAME "
                "--note TEXT`).")
    else:
        text = ("Not champion: the evidence rule kept version "
                f"{decision.champion_version} ({'; '.join(decision.reasons[:2])}).")
    c.update_model_version(registry.MODEL_NAME, str(version), description=text)
