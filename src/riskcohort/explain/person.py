"""One person's explanation: score, rank, reasons, the records behind them and a what-if.

Why this shape: an officer reviewing a person in the cohort must see *why* (reason codes in plain
English), *from what* (the police records behind each indicator value, so the reason can be
checked against the source system and challenged) and *how sensitive* the ranking is (what-if the
indicator were at the population's typical value). The what-if is a property of the model, not a
statement about cause: changing a record would not change the person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.errors import UserError, examples
from riskcohort.explain.labels import format_value, indicator_labels, render_reason
from riskcohort.explain.provenance import evidence_for
from riskcohort.explain.reasons import APPROX_NOTE, Reason, reason_codes
from riskcohort.explain.scored import ScoredRun, load_scored
from riskcohort.explain.shap_adapter import contributions, raw_margin

WHAT_IF_NOTE = (
    "What-if, not causation: the score and rank the model would give if this one indicator were "
    "at the population's typical (median) value, other indicators unchanged; rank is against "
    "everyone else's stored score."
)


@dataclass
class WhatIf:
    """The model's score and rank with one indicator set to the population median."""

    indicator: str
    description: str
    value_text: str
    typical_value: float
    typical_text: str
    score: float
    rank: int
    score_change_pp: float
    rank_change: int
    text: str = ""  # the catalogue's reason sentence at the typical value


@dataclass
class PersonExplanation:
    """Everything shown to an officer about one scored person at one snapshot."""

    person_id: str
    as_of: str
    score: float
    rank: int
    band: str | None
    in_cohort: bool | None
    n_scored: int
    base_probability: float
    average_probability: float
    reasons_up: list[Reason]
    reasons_down: list[Reason]
    evidence: dict[str, list[dict]]
    sensitivity: list[WhatIf]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (dates as ISO strings)."""
        return asdict(self)


def _select(run: ScoredRun, person_id: str, as_of) -> tuple[int, list[str]]:
    """Row index of the person's snapshot; unknown person or date is a UserError."""
    mask = run.features["person_id"] == str(person_id)
    if not mask.any():
        raise UserError(
            f"person {person_id!r} is not in run {run.root} ({len(run.features)} people scored; "
            f"examples: {examples(run.features['person_id'])}); rule: only scored people have "
            "explanations"
        )
    rows = run.features.index[mask]
    dates = run.features.loc[rows, "as_of"]
    notes = []
    if as_of is not None:
        try:
            wanted = pd.Timestamp(as_of)
        except (ValueError, TypeError):
            raise UserError(f"option --as-of: {as_of!r} is not a date (YYYY-MM-DD)") from None
        rows = rows[dates == wanted]
        if len(rows) == 0:
            raise UserError(
                f"person {person_id!r} has no snapshot {as_of} in run {run.root} "
                f"(snapshots: {examples(d.date().isoformat() for d in dates)})"
            )
    elif len(rows) > 1:
        notes.append(f"Several snapshots; showing the latest ({dates.max().date()}); use --as-of.")
        rows = rows[dates == dates.max()]
    return int(rows[0]), notes


def _what_ifs(run, idx, reasons, snap, x, score, rank, labels) -> list[WhatIf]:
    """Recompute score and rank with each reason's indicator at the snapshot median."""
    medians = run.medians(run.features.at[idx, "as_of"])
    others = run.scores.loc[snap & (run.features.index != idx), "score"].to_numpy(dtype=float)
    reasons = [r for r in reasons if not pd.isna(medians[r.indicator])]
    if not reasons:
        return []
    changed = pd.concat([x] * len(reasons), ignore_index=True)
    for k, r in enumerate(reasons):
        changed.loc[k, r.indicator] = medians[r.indicator]
    new = run.calibration.probability(raw_margin(run.booster, changed))
    out = []
    for k, r in enumerate(reasons):
        typical, p = float(medians[r.indicator]), float(new[k])
        new_rank = int(1 + np.sum(others > p))
        lab = labels[r.indicator]
        out.append(WhatIf(r.indicator, r.description, r.value_text, typical,
                          format_value(typical, lab.unit), p, new_rank, 100.0 * (p - score),
                          new_rank - rank, f"if {render_reason(lab, typical)}"))
    return out


def explain_person(
    run_dir: str | Path | ScoredRun,
    person_id: str,
    dataset=None,
    *,
    as_of=None,
    with_evidence: bool = True,
    evidence_fn=None,
) -> PersonExplanation:
    """Explain one scored person from a run folder (or an already loaded :class:`ScoredRun`).

    ``dataset`` (a loaded ``Dataset`` or dict of tables) supplies the records for evidence; when
    omitted it is loaded from ``run.json["data_dir"]``. ``evidence_fn`` replaces
    ``riskcohort.features.evidence`` (tests only).
    """
    run = run_dir if isinstance(run_dir, ScoredRun) else load_scored(run_dir)
    idx, notes = _select(run, person_id, as_of)
    when = run.features.at[idx, "as_of"]
    x = run.matrix(run.features.loc[[idx]])
    base, vals = contributions(run.booster, x, engine="lightgbm")  # same Tree SHAP, no set-up
    margin = float(raw_margin(run.booster, x)[0])
    labels = indicator_labels(run.feature_names)
    up, down = reason_codes(x.to_numpy()[0], vals[0], margin, run.calibration,
                            [labels[n] for n in run.feature_names])
    stored = run.scores.loc[idx]
    if pd.isna(stored.get("score")) or pd.isna(stored.get("rank")):
        raise UserError(f"run {run.root}: person {person_id!r} is in features.parquet but has no "
                        "score or rank in scores.csv; rule: both files list the same people")
    score, rank = float(stored["score"]), int(stored["rank"])
    recomputed = float(run.calibration.probability(margin))
    if abs(recomputed - score) > 1e-6:
        notes.append(f"The model and calibrator give {100 * recomputed:.2f}% but scores.csv says "
                     f"{100 * score:.2f}%: percentage points and what-ifs use the former.")
    snap = run.features["as_of"] == when
    evidence: dict[str, list[dict]] = {}
    if with_evidence:
        evidence, ev_notes = evidence_for(run, dataset, person_id, when,
                                          [r.indicator for r in up + down], evidence_fn)
        notes += ev_notes
    band = stored.get("band")
    cal_note = run.calibration.note
    cohort = stored.get("in_cohort")
    return PersonExplanation(
        person_id=str(person_id),
        as_of=when.date().isoformat(),
        score=score,
        rank=rank,
        band=None if pd.isna(band) else str(band),
        in_cohort=None if pd.isna(cohort) else bool(cohort),
        n_scored=int(snap.sum()),
        base_probability=float(run.calibration.probability(base)),
        average_probability=float(run.scores.loc[snap, "score"].mean()),
        reasons_up=up,
        reasons_down=down,
        evidence=evidence,
        sensitivity=_what_ifs(run, idx, up + down, snap, x, score, rank, labels),
        notes=[*notes, APPROX_NOTE, WHAT_IF_NOTE, f"Margin to probability: {cal_note}."],
    )
