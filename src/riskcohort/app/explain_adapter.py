"""The one place the app gets a person's reasons, evidence and what-ifs.

Preferred source: ``riskcohort.explain.explain_person`` (plain-English reasons with percentage-
point effects, the police records behind each indicator, what-if sensitivity). It needs the model
in the run folder (and the source data for evidence), so when it is unavailable or fails the app
falls back to the run folder alone: reasons from explanations.parquet, evidence from
evidence.parquet if present. Switching or fixing the source is a change to this module only.
Results are cached per (iteration, person): the same person page is opened repeatedly in review.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from riskcohort.app.rundata import Iteration

log = logging.getLogger(__name__)
_lock = threading.Lock()
_runfolders: dict[str, object] = {}


@dataclass
class PersonView:
    """What the person page shows besides score, rank and the waterfall chart.

    ``chart_items`` are (readable label, effect in percentage points) for every indicator,
    shares of ``score - base_probability`` (``explain.reasons.share_pp``), so the waterfall
    from the base estimate ends exactly at the score on the card and in scores.csv.
    """

    reasons_up: list[dict]
    reasons_down: list[dict]
    evidence: dict[str, list[dict]]
    sensitivity: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = "run folder"
    chart_items: list[tuple[str, float]] = field(default_factory=list)
    base_probability: float | None = None


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "unknown"
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=8)
def _labels(names: tuple[str, ...]) -> dict:
    from riskcohort.explain.labels import indicator_labels

    return indicator_labels(list(names))


def effect_text(pp: float) -> str:
    """'+1.2 pp', '-0.04 pp', '<0.001 pp' (``explain.reasons.points``: never '-0.0 pp').

    >>> effect_text(1.234), effect_text(-0.0412), effect_text(0.0001)
    ('+1.2 pp', '-0.04 pp', '<0.001 pp')
    """
    from riskcohort.explain.reasons import points

    return f"{points(pp)} pp"


def base_probability(it: Iteration) -> float | None:
    """The calibrated probability at the SHAP base value (explanations.json), if recorded."""
    value = getattr(it, "base_probability", None)
    return None if value is None or value != value else float(value)


def shares(it: Iteration, pid: str) -> tuple[float | None, list[tuple[str, float, float, float]]]:
    """(base probability, [(indicator, value, log-odds, points)]) for one person, points being
    exact shares of the stored score minus the base probability; points are NaN without a
    recorded base probability."""
    from riskcohort.explain.reasons import share_pp

    terms = it.person_terms(pid)
    base = base_probability(it)
    if not terms:
        return base, []
    con = [c for _, _, c in terms]
    pts = (share_pp(base, float(it.scores.loc[pid, "score"]), con) if base is not None
           else [math.nan] * len(con))
    return base, [(i, v, c, float(e)) for (i, v, c), e in zip(terms, pts, strict=True)]


def chart_items(it: Iteration, terms) -> list[tuple[str, float]]:
    """Waterfall bars: the catalogue's reason sentence with the value ("separated 161 days
    ago"), the effect in points."""
    from riskcohort.explain.labels import render_reason

    labels = _labels(tuple(sorted({t[0] for t in terms})))
    return [(render_reason(labels[i], None if v != v else v), e) for i, v, _, e in terms]


def from_run_folder(it: Iteration, pid: str, n_up: int = 5, n_down: int = 3) -> PersonView:
    """Reasons from explanations.parquet, effects as shares of the score, evidence from
    evidence.parquet."""
    from riskcohort.explain.reasons import effect_words

    base, terms = shares(it, pid)

    def reason(ind: str, value: float, con: float, pts: float) -> dict:
        text = it.reason_text(ind, value) if it.reason_text else f"{ind}: {_fmt(value)}"
        if pts == pts:
            text = f"{text} - {effect_words(pts)}"
        return {"indicator": ind, "text": text, "value_text": _fmt(value), "contribution": con,
                "effect": effect_text(pts) if pts == pts else ""}

    up = [reason(*t) for t in terms if t[2] > 0][:n_up]
    down = [reason(*t) for t in reversed(terms) if t[2] < 0][:n_down]
    evidence = it.person_evidence(pid)
    notes = ["Reasons from the run folder's SHAP contributions."]
    if it.evidence is None:
        notes.append("Evidence records are not available: the run folder has no evidence file "
                     "and the explain stage could not be used.")
    items = chart_items(it, terms) if base is not None else []
    return PersonView(up, down, evidence, notes=notes, chart_items=items, base_probability=base)


def _runfolder(it: Iteration):
    with _lock:
        key = str(it.root)
        if key not in _runfolders:
            from riskcohort.explain.scored import load_scored

            _runfolders[key] = load_scored(it.root)
        return _runfolders[key]


def _dataset(it: Iteration):
    """The run's source data (run.json data_dir), loaded once per iteration; None if absent."""
    with _lock:
        key = "data:" + str(it.root)
        if key not in _runfolders:
            data_dir = it.data_dir
            _runfolders[key] = None
            if data_dir and data_dir.is_dir():
                from riskcohort.contract import load_dataset

                _runfolders[key] = load_dataset(data_dir)
        return _runfolders[key]


def _from_explain(it: Iteration, pid: str) -> PersonView:
    from riskcohort.explain.person import explain_person

    run = _runfolder(it)
    pe = explain_person(run, pid, with_evidence=False)
    notes = list(pe.notes)
    evidence = it.person_evidence(pid) if it.evidence is not None else None
    if evidence is None:  # every indicator's records, through explain's evidence hook
        from riskcohort.explain.provenance import evidence_for

        data = _dataset(it)
        if data is None:
            evidence = {}
            notes.append("Evidence not shown: the input folder named in run.json is not there.")
        else:
            evidence, ev_notes = evidence_for(run, data, pid, pe.as_of, list(it.features.columns))
            notes += ev_notes

    from riskcohort.display import percent
    from riskcohort.explain.reasons import points

    def reason(r) -> dict:
        return {"indicator": r.indicator, "text": r.text, "value_text": r.value_text,
                "contribution": float(r.contribution_logodds),
                "effect": effect_text(r.effect_pp)}

    sens = [{"text": w.description, "value": w.value_text, "typical": w.typical_text,
             "score": w.score, "rank": w.rank, "rank_change": w.rank_change,
             "change_text": w.change_text, "score_change_pp": w.score_change_pp,
             "score_text": percent(w.score), "change_pp": points(w.score_change_pp)}
            for w in pe.sensitivity]
    _, terms = shares(it, pid)
    base = pe.base_probability
    if terms and base is not None and base_probability(it) is None:  # older run: model's base
        from riskcohort.explain.reasons import share_pp

        pts = share_pp(base, float(it.scores.loc[pid, "score"]), [t[2] for t in terms])
        terms = [(i, v, c, float(e)) for (i, v, c, _), e in zip(terms, pts, strict=True)]
    return PersonView([reason(r) for r in pe.reasons_up], [reason(r) for r in pe.reasons_down],
                      {k: [{c: str(v) for c, v in rec.items()} for rec in recs]
                       for k, recs in (evidence or {}).items() if recs}, sens, notes, "explain",
                      chart_items(it, terms), base)


@lru_cache(maxsize=512)
def _cached(root: str, pid: str, it_id: int, use_explain: bool) -> PersonView:
    it = _ITERS[it_id]
    if use_explain and (it.root / "model" / "model.txt").exists():
        try:
            return _from_explain(it, pid)
        except Exception as exc:  # explain unavailable or failing: fall back, say so
            log.warning("explain_person failed for a person page: %s", type(exc).__name__)
            view = from_run_folder(it, pid)
            view.notes.append(f"The explain stage could not be used ({type(exc).__name__}).")
            return view
    return from_run_folder(it, pid)


_ITERS: dict[int, Iteration] = {}


def person_view(it: Iteration, pid: str, use_explain: bool = True) -> PersonView:
    """Reasons, evidence and sensitivity for a scored person of an iteration."""
    _ITERS[id(it)] = it
    return _cached(str(it.root), pid, id(it), use_explain)


def warm(it: Iteration) -> None:
    """Load the model run folder and source data in the background at start-up, so the first
    person page does not pay for them (failures are left for the page to report)."""
    if not (it.root / "model" / "model.txt").exists():
        return

    def work():
        try:
            _runfolder(it)
            _dataset(it)
            top = it.scores["rank"].idxmin()
            person_view(it, str(top), True)  # imports SHAP, compiles the evidence queries
        except Exception as exc:  # the page falls back and says why
            log.warning("explain warm-up failed: %s", type(exc).__name__)

    threading.Thread(target=work, name="explain-warm-up", daemon=True).start()
