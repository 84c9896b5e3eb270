"""One person's explanation: score, rank, reasons, the records behind them and a what-if.

Why this shape: an officer reviewing a person in the cohort must see *why* (reason codes in plain
English), *from what* (the police records behind each indicator value, so the reason can be
checked against the source system and challenged) and *how sensitive* the ranking is (what-if the
indicator were at the population's typical value). The what-if is a property of the model, not a
statement about cause: changing a record would not change the person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
    rank_change: int  # places moved, + = up the list (a smaller rank number), as everywhere
    text: str = ""  # the catalogue's reason sentence at the typical value
    change_text: str = ""  # "no change", "up 3 places", "down 1 place"


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
    score_lo: float | None = None  # the model's 90% interval (scores.csv)
    score_hi: float | None = None
    tied: bool | None = None  # someone else has exactly this score (scores.csv)
    in_custody: bool | None = None  # held on the scoring date (scores.csv, else model input)
    days_since_custody_release: int | None = None
    custody_text: str | None = None  # plain words when custody matters

    @property
    def rank_text(self) -> str:
        """'12' or '=12' (a tie: others share this rank; nothing in the model separates them)."""
        return f"={self.rank}" if self.tied else str(self.rank)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (dates as ISO strings). ``reasons`` lists every reason, up and
        down, by size of effect, each with its signed contribution (log-odds and points)."""
        out = asdict(self)
        out["rank_text"] = self.rank_text
        out["reasons"] = sorted(out["reasons_up"] + out["reasons_down"],
                                key=lambda r: -abs(r["effect_pp"]))
        return out


def change_text(places: int) -> str:
    """'no change', 'up 1 place', 'down 3 places' (+ = up the list).

    >>> change_text(0), change_text(1), change_text(-3)
    ('no change', 'up 1 place', 'down 3 places')
    """
    if places == 0:
        return "no change"
    return f"{'up' if places > 0 else 'down'} {abs(places)} place{'s' if abs(places) != 1 else ''}"


def custody_text(in_custody, days_since_release, as_of) -> str | None:
    """Custody in plain words when it decides what a team can do: held on the scoring date, or
    released within the last year (with the release date). None otherwise or when unknown.

    >>> custody_text(True, None, "2025-07-01")[:50]
    'In custody on the scoring date: the score estimate'
    >>> custody_text(False, 60, "2025-07-01")
    'Released from custody 60 days before the scoring date (on 2025-05-02): a time of raised risk.'
    """
    if in_custody:
        return ("In custody on the scoring date: the score estimates risk as if free; what the "
                "team can do while he or she is held differs.")
    if days_since_release is not None and 0 <= days_since_release <= 365:
        day = (pd.Timestamp(as_of) - pd.Timedelta(days=int(days_since_release))).date()
        unit = "day" if days_since_release == 1 else "days"
        return (f"Released from custody {days_since_release} {unit} before the scoring date "
                f"(on {day.isoformat()}): a time of raised risk.")
    return None


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


_CAL_WORDS = {"platt": "Platt (logistic)", "isotonic": "interpolated isotonic",
              "isotonic_interp": "interpolated isotonic", "sigmoid": "plain logistic"}


def _number(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _flag(v) -> bool | None:
    """True/False from a bool, 0/1 or 'True'/'False' cell; None when missing."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(v.strip().lower())
    return bool(v)


def _custody(run: ScoredRun, idx: int) -> tuple[bool | None, int | None]:
    """``in_custody`` and ``days_since_custody_release`` of one row: scores.csv first (the
    published flag), else the model's inputs; None when neither holds them."""
    out = []
    for col in ("in_custody", "days_since_custody_release"):
        v = run.scores.at[idx, col] if col in run.scores.columns else None
        if (v is None or (not isinstance(v, str) and pd.isna(v))) and col in run.features.columns:
            v = run.features.at[idx, col]
        out.append(v)
    held = _flag(out[0])
    days = _number(out[1])
    return held, None if days is None else int(round(days))


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
        if abs(p - score) <= 1e-12:  # the model cannot tell the difference: same score, same rank
            p, new_rank = score, rank
        else:
            new_rank = int(1 + np.sum(others > p))
        lab = labels[r.indicator]
        moved = rank - new_rank
        out.append(WhatIf(r.indicator, r.description, r.value_text, typical,
                          format_value(typical, lab.unit), p, new_rank, 100.0 * (p - score),
                          moved, f"if {render_reason(lab, typical)}", change_text(moved)))
    return out


def _stored(run: ScoredRun, idx, person_id: str) -> tuple[pd.Series, float, int]:
    """The person's row of scores.csv with its score and rank; both files must list the same
    people, so a missing score is the run folder's fault, said plainly."""
    stored = run.scores.loc[idx]
    if pd.isna(stored.get("score")) or pd.isna(stored.get("rank")):
        raise UserError(f"run {run.root}: person {person_id!r} is in features.parquet but has no "
                        "score or rank in scores.csv; rule: both files list the same people")
    return stored, float(stored["score"]), int(stored["rank"])


def _reasons(run: ScoredRun, x: pd.DataFrame, vals, margin: float, score: float,
             labels: dict, notes: list[str]) -> tuple[list, list]:
    """Reasons up and down: effects share out exactly score - base probability, so they end at
    the stored score. A calibrator that no longer reproduces scores.csv is noted, not hidden."""
    up, down = reason_codes(x.to_numpy()[0], vals[0], margin, run.calibration,
                            [labels[n] for n in run.feature_names], score=score)
    recomputed = float(run.calibration.probability(margin))
    if abs(recomputed - score) > 1e-6:
        notes.append(f"The model and calibrator give {100 * recomputed:.2f}% but scores.csv says "
                     f"{100 * score:.2f}%: percentage points and what-ifs use the former.")
    return up, down


def _stored_fields(stored: pd.Series) -> dict[str, Any]:
    """Band, cohort membership, interval and tie as scores.csv holds them (None when blank)."""
    band, cohort = stored.get("band"), stored.get("in_cohort")
    return {"band": None if pd.isna(band) else str(band),
            "in_cohort": None if pd.isna(cohort) else bool(cohort),
            "score_lo": _number(stored.get("score_lo")),
            "score_hi": _number(stored.get("score_hi")),
            "tied": _flag(stored.get("tied"))}


def explain_person(
    run_dir: str | Path | ScoredRun,
    person_id: str,
    dataset: Any = None,
    *,
    as_of: Any = None,
    with_evidence: bool = True,
    evidence_fn: Callable[..., Any] | None = None,
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
    stored, score, rank = _stored(run, idx, person_id)
    up, down = _reasons(run, x, vals, margin, score, labels, notes)
    snap = run.features["as_of"] == when
    evidence: dict[str, list[dict]] = {}
    if with_evidence:
        evidence, ev_notes = evidence_for(run, dataset, person_id, when,
                                          [r.indicator for r in up + down], evidence_fn)
        notes += ev_notes
    held, released = _custody(run, idx)
    return PersonExplanation(
        person_id=str(person_id), as_of=when.date().isoformat(), score=score, rank=rank,
        n_scored=int(snap.sum()), **_stored_fields(stored),
        in_custody=held, days_since_custody_release=released,
        custody_text=custody_text(held, released, when),
        base_probability=float(run.calibration.probability(base)),
        average_probability=float(run.scores.loc[snap, "score"].mean()),
        reasons_up=up, reasons_down=down, evidence=evidence,
        sensitivity=_what_ifs(run, idx, up + down, snap, x, score, rank, labels),
        notes=[*notes, APPROX_NOTE, WHAT_IF_NOTE,
               f"The risk estimate is the model's output put on a probability scale by the "
               f"run's {_CAL_WORDS.get(run.calibration.kind, 'own')} calibration, fitted on "
               "later data than the model."],
    )
