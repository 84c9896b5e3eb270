"""The police records behind a person's indicator values (provenance of a reason code).

Why: a reason such as "3 breaches of orders in the last year" must be checkable against the
source system. The features stage owns the indicator logic and therefore also says which records
produced each value (``riskcohort.features.evidence``); explain only asks it and groups the answer
by indicator, so the two can never disagree. When the records cannot be read (no features
evidence function yet, input folder moved, data changed since the run) the explanation still
shows, with a note saying why the evidence is missing or may not match.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ("indicator", "table", "record_id", "recorded_at", "kind", "victim_id")


def _default_fn():
    try:
        from riskcohort.features import evidence
    except ImportError:
        return None
    return evidence


def _load(run, notes: list[str]):
    """Load the run's input dataset from ``run.json['data_dir']`` (None with a note if not)."""
    data_dir = run.data_dir
    if not data_dir or not Path(data_dir).exists():
        notes.append(f"Evidence not shown: input folder {data_dir!r} from run.json not found.")
        return None
    try:
        from riskcohort.contract import load_dataset
    except ImportError:
        notes.append("Evidence not shown: riskcohort.contract.load_dataset is not available.")
        return None
    return load_dataset(data_dir)


def records_by_indicator(frame: pd.DataFrame, indicators: list[str]) -> dict[str, list[dict]]:
    """Group an evidence frame into ``{indicator: [record, ...]}`` (every indicator present)."""
    out: dict[str, list[dict]] = {name: [] for name in indicators}
    if frame is None or frame.empty:
        return out
    frame = frame.sort_values(["indicator", "recorded_at", "record_id"], kind="stable")
    for rec in frame.loc[:, [c for c in COLUMNS if c in frame.columns]].to_dict("records"):
        ts = rec.get("recorded_at")
        rec["recorded_at"] = None if pd.isna(ts) else pd.Timestamp(ts).isoformat()
        rec = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rec.items()}
        out.setdefault(rec["indicator"], []).append(rec)
    return out


def evidence_for(run, dataset, person_id, as_of, indicators, evidence_fn=None):
    """``({indicator: records}, notes)`` for one person's snapshot, via the features stage.

    An empty dict (not empty lists) means the records could not be read; the notes say why.
    """
    notes: list[str] = []
    fn = evidence_fn or _default_fn()
    if fn is None:
        notes.append("Evidence not shown: riskcohort.features.evidence is not available.")
        return {}, notes
    if dataset is None:
        dataset = _load(run, notes)
        if dataset is None:
            return {}, notes
    fingerprint = getattr(dataset, "fingerprint", None)
    if fingerprint and run.manifest.get("fingerprint") not in (None, fingerprint):
        notes.append("Input data changed since the run (fingerprint differs): evidence may not "
                     "match the scored values.")
    try:
        frame = fn(dataset, str(person_id), pd.Timestamp(as_of), indicators=list(indicators))
    except ImportError as exc:  # the features stage is installed without its evidence module
        notes.append(f"Evidence not shown: riskcohort.features.evidence failed to import ({exc}).")
        return {}, notes
    return records_by_indicator(frame, list(indicators)), notes
