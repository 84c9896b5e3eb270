"""Governance pack section (issue 17.6): what the team did, what it changed, how training
handled it.

Why in the pack: once a cohort is used, the question a force is asked is "what difference did it
make?", and the model's own numbers depend on how the people the team managed were treated in
training. The section states, from the run folder and the data folder it names: who was under
management at the scoring date (and how many of them the cohort holds), outcomes of managed and
unmanaged people in the backtest horizon (``metrics.json["by_management"]``), the impact
estimate (an ``impact.json`` attachment written by ``riskcohort impact``, if the run has one)
with its interval, the months and ranking(s) it rests on (``impact_text``), assumptions and
warnings, and the training method (``run.json``).
Missing pieces are said, not hidden.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from riskcohort.errors import UserError
from riskcohort.governance import impact_text
from riskcohort.runfolder import attach

logger = logging.getLogger(__name__)

IMPACT_ATTACHMENT = "impact.json"  #: ``riskcohort impact --out`` attached to the run folder
IMPACT_KEYS = ("relative_risk", "lo", "hi", "n_managed", "n_comparison", "warnings")
METHOD_TEXT = {
    "censor": "person-snapshots whose outcome year overlapped management were left out of "
              "training (their outcome was not the outcome without management)",
    "ipw": "person-snapshots whose outcome year overlapped management were left out and the "
           "rest reweighted by the inverse probability of not being managed",
    "feature_fixed": "management was a training-time input, set to 'not managed' when scoring",
    "ignore": "outcomes were used as recorded, managed or not (naive; for comparison only)",
}


def _get(obj, key, default=None):
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, key, default)


def _managed_at(run) -> dict | None:
    """People under a recorded intervention at the run's as-of date (known by then)."""
    root = run.data_dir
    if root is None:
        return None
    path = next((p for p in (root / "interventions.parquet", root / "interventions.csv")
                 if p.is_file()), None)
    if path is None:
        return {"recorded": False}
    iv = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    t = run.as_of
    known = pd.to_datetime(iv["recorded_at"]) < t
    start, end = pd.to_datetime(iv["start_date"]), pd.to_datetime(iv["end_date"])
    on = known & (start <= t) & (end.isna() | (end > t))
    people = set(iv.loc[on, "person_id"].astype(str))
    scores = run.scores
    in_cohort = scores.loc[scores["in_cohort"].astype(bool), "person_id"].astype(str) \
        if "in_cohort" in scores else pd.Series(dtype=str)
    return {"recorded": True, "people": len(people),
            "kinds": sorted(iv.loc[on, "kind"].astype(str).unique()),
            "in_cohort": int(in_cohort.isin(people).sum()),
            "cohort_size": int(len(in_cohort))}


def attach_impact(run_dir: str | Path, path: str | Path) -> Path:
    """Attach an estimate written by ``riskcohort impact --out`` to a published run folder as
    ``impact.json`` (``riskcohort report --impact FILE``).

    Why an attachment: the run folder is published whole and verified, so a file added later is
    recorded with its sha256 (``runfolder.attach``) and the pack shows only a verified one. The
    file is copied byte for byte, so the pack and the estimate cannot disagree."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"file {p}: rule impact_file: no such file; write it with `riskcohort "
                        "impact DATA_DIR --from DATE --to DATE --out FILE.json`")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"file {p}: rule impact_json: not a JSON file ({exc})") from None
    missing = [k for k in IMPACT_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise UserError(f"file {p}: rule impact_keys: missing {', '.join(missing)}; expected "
                        "the JSON written by `riskcohort impact --out`")
    return attach(run_dir, IMPACT_ATTACHMENT, lambda tmp: shutil.copyfile(p, tmp))


def _impact(run) -> dict | None:
    path = run.attachments.get(IMPACT_ATTACHMENT)
    if path is None:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def section(run) -> dict:
    """The section's facts (plain values for the template; ``None`` where a piece is absent)."""
    training = _get(run.manifest, "training", {}) or {}
    record = training.get("interventions") if isinstance(training, dict) else None
    method = (record or {}).get("method")
    metrics = run.metrics
    by = _get(metrics, "by_management") if metrics is not None else None
    impact = _impact(run)
    return {
        "managed_now": _managed_at(run),
        "by_management": by,
        "impact": impact,
        "impact_text": impact_text.view(impact),
        "training": record,
        "training_text": METHOD_TEXT.get(method or "", "not recorded (a run before issue 17)"),
    }
