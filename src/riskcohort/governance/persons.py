"""Per-person explanations for the board: the cohort's top N and a random sample outside it.

Why both: a board checks a ranking by reading cases, not only global plots. The top of the cohort
shows what drives the highest scores; a seeded random sample of people *outside* the cohort shows
what keeps people out (and whether someone who should be in was missed). Each case shows the score
with its interval, rank, band, the reasons up and down in plain English (the explain stage's own
person explanations, so the pack and the app agree) and how many police records stand behind each
reason, and when the latest of them was recorded.

Ids are pseudonyms ("Top 01", "Sample 01"); the key that maps them back to person ids is written
beside the pack (``<out stem>.pseudonyms.csv``), never inside it, so the pack can circulate to a
board while authorised staff can still go back to the records.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort.display import NOT_AVAILABLE, band_name, indicator_name, percent, plain_text

logger = logging.getLogger(__name__)

N_PERSONS = 20
#: a reason resting only on records older than this (days before the scoring date) is "stale"
STALE_DAYS = 2 * 365
#: responses to risk by the police or partners, when the catalogue has no ``role``: they can
#: also reduce it (issue 16)
POLICE_RESPONSES = ("active_protective_orders", "bail_conditions_active", "referral_marac",
                    "referral_mappa", "in_custody", "days_since_custody_release",
                    "currently_managed", "managed")
#: indicators likely to carry recording or policing bias, when the catalogue does not say
PROXY_FALLBACK = ("crime_count_3y", "marker_mental_health", "referral_mental_health",
                  "marker_drugs", "marker_alcohol", "marker_suicide_self_harm")
WHAT_TO_LOOK_FOR = (
    "Reasons that are proxies: indicators that can reflect how much a person or group is policed "
    "or recorded rather than how dangerous they are (marked “proxy”, from the indicator "
    "catalogue's proxy_risk field).",
    "Reasons that are police responses: orders, bail, MARAC or MAPPA referrals and custody are "
    "responses to risk that can also reduce it; a high score built on them may describe what "
    "the police already do (marked “police response”).",
    "Stale records: a reason resting only on records more than two years old (marked “stale”); "
    "ask whether the person's situation has changed since.",
    "People outside the cohort with strong reasons up, and people inside with weak or unknown "
    "evidence: the cut-off is a line through a continuum, not a judgement about anyone.",
)


def _catalogue_marks() -> tuple[set[str], set[str]]:
    """(proxies, police responses) from the catalogue's ``proxy_risk`` and ``role`` fields,
    else the fallback lists."""
    try:
        from riskcohort.features.catalogue import load_catalogue

        items = load_catalogue()
    except Exception:  # noqa: BLE001 - the fallback lists still mark the known ones
        items = []
    proxies = {i.name for i in items if getattr(i, "proxy_risk", False)}
    responses = {i.name for i in items if getattr(i, "role", "risk") in ("response",
                                                                          "intervention")}
    return proxies or set(PROXY_FALLBACK), responses or set(POLICE_RESPONSES)


def choose(scores: pd.DataFrame, n: int = N_PERSONS, seed: int = 0) -> pd.DataFrame:
    """The top ``n`` of the cohort by rank and a seeded random ``n`` outside it, with
    pseudonyms (``pseudonym``, ``group`` = "top" / "sample")."""
    s = scores.copy()
    cohort = s["in_cohort"].astype(str).str.lower().isin(["true", "1", "1.0", "yes"])
    top = s[cohort].sort_values(["rank", "person_id"]).head(n).assign(group="top")
    outside = s[~cohort]
    rng = np.random.default_rng(seed)
    pick: np.ndarray | list[int] = (
        rng.choice(len(outside), size=min(n, len(outside)), replace=False) if len(outside)
        else [])
    sample = outside.iloc[np.sort(pick)].sort_values(["rank", "person_id"]).assign(group="sample")
    width = max(2, len(str(n)))
    top["pseudonym"] = [f"Top {i + 1:0{width}d}" for i in range(len(top))]
    sample["pseudonym"] = [f"Sample {i + 1:0{width}d}" for i in range(len(sample))]
    return pd.concat([top, sample], ignore_index=True)


def _interval(row) -> str:
    lo, hi = row.get("score_lo"), row.get("score_hi")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return NOT_AVAILABLE
    return f"{percent(lo)} to {percent(hi)}"


def _evidence(records: list[dict] | None, as_of: pd.Timestamp) -> dict:
    if records is None:
        return {"count": None, "latest": None, "stale": False}
    dates = [pd.Timestamp(r["recorded_at"]) for r in records if r.get("recorded_at")]
    latest = max(dates) if dates else None
    stale = latest is not None and (as_of - latest.tz_localize(None)).days > STALE_DAYS
    return {"count": len(records), "latest": None if latest is None else str(latest.date()),
            "stale": stale}


def _reason(r, evidence: dict, as_of, marks_from: tuple[set[str], set[str]]) -> dict:
    proxies, responses = marks_from
    ev = _evidence(evidence.get(r.indicator) if evidence else None, as_of)
    marks = [m for m, on in (("proxy", r.indicator in proxies),
                             ("police response", r.indicator in responses),
                             ("stale", ev["stale"])) if on]
    return {"indicator": r.indicator, "name": indicator_name(r.indicator), "text": r.text,
            "sentence": plain_text(r.text.split(" - ")[0]), "effect_pp": r.effect_pp,
            "effect_text": effect_text(r.effect_pp), "records": ev["count"],
            "latest": ev["latest"], "marks": marks}


def effect_text(pp: float) -> str:
    """An effect in percentage points for a table: '+1.2 pp', '< 0.1 pp' (never '-0.0 pp').

    >>> effect_text(1.234), effect_text(-0.01), effect_text(-0.26)
    ('+1.2 pp', '< 0.1 pp', '-0.3 pp')
    """
    return f"{pp:+.1f} pp" if abs(pp) >= 0.05 else "< 0.1 pp"


_ABSOLUTE = re.compile(r"(?<![\w.~])/[^\s:;,()'\"]+")


def without_paths(message: str, run_dir: str | Path) -> str:
    """An error message fit for the pack, which is shared with a board: the run folder named by
    its name and any other absolute path by its last part, never where they lie on this machine.

    >>> without_paths("run folder /srv/runs/iteration-3: has no model; see /srv/x/run.json",
    ...               "/srv/runs/iteration-3")
    'run folder iteration-3: has no model; see run.json'
    """
    root = Path(run_dir)
    for form in sorted({str(root.absolute()), str(root.resolve())}, key=len, reverse=True):
        message = message.replace(form, root.name)
    return _ABSOLUTE.sub(lambda m: Path(m.group()).name, message)


def section(run_dir, scores: pd.DataFrame | None, n: int = N_PERSONS, seed: int = 0,
            n_reasons: int = 3) -> dict:
    """The per-person section: ``rows`` (one dict per person, no person ids), ``key`` (the
    pseudonym -> person_id frame, written beside the pack, never in it) and ``note``."""
    out: dict[str, Any] = {"rows": [], "key": None, "note": None, "n": n, "seed": seed,
                           "look_for": WHAT_TO_LOOK_FOR, "stale_days": STALE_DAYS}
    if scores is None or scores.empty or n <= 0:
        out["note"] = "No scores.csv in the run folder: no per-person explanations."
        return out
    chosen = choose(scores, n, seed)
    out["key"] = chosen[["pseudonym", "person_id"]].reset_index(drop=True)
    try:
        from riskcohort.explain.person import explain_person
        from riskcohort.explain.scored import load_scored

        run = load_scored(run_dir)
    except Exception as exc:  # noqa: BLE001 - the rest of the pack must still render
        out["note"] = ("Per-person explanations are not available for this run "
                       f"({without_paths(str(exc), run_dir)}).")
        logger.warning("per-person section skipped: %s", exc)
        return out
    dataset = _dataset(run)
    notes: set[str] = set()
    marks = _catalogue_marks()
    for row in chosen.to_dict("records"):
        try:
            e = explain_person(run, row["person_id"], dataset, with_evidence=dataset is not None)
        except Exception as exc:  # noqa: BLE001 - one failing case is said, not fatal
            out["note"] = (f"Some explanations failed ({exc.__class__.__name__}: "
                           f"{without_paths(str(exc), run_dir)}).")
            logger.warning("explanation of %s failed: %s", row["pseudonym"], exc)
            continue
        as_of = pd.Timestamp(e.as_of)
        notes.update(x for x in e.notes if x.startswith("Evidence not shown"))
        out["rows"].append({
            "pseudonym": row["pseudonym"], "group": row["group"], "score": e.score,
            "interval": _interval(row), "rank": e.rank, "n_scored": e.n_scored,
            "tied": bool(_truthy(row.get("tied"))),
            "band": band_name(e.band), "in_custody": _truthy(row.get("in_custody")),
            "up": [_reason(r, e.evidence, as_of, marks) for r in e.reasons_up[:n_reasons]],
            "down": [_reason(r, e.evidence, as_of, marks)
                     for r in e.reasons_down[:n_reasons]],
        })
    if dataset is None:
        notes.add("Evidence record counts are not shown: the run's input data was not found.")
    if notes and not out["note"]:
        out["note"] = " ".join(sorted(notes))
    return out


def _truthy(v) -> bool | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v).lower() in ("true", "1", "1.0", "yes")


def _dataset(run):
    """The run's input data, loaded once for every person's evidence (None if not found)."""
    from pathlib import Path

    d = getattr(run, "data_dir", None) or run.manifest.get("data_dir")
    if not d or not Path(d).is_dir():
        return None
    try:
        from riskcohort.contract import load_dataset

        return load_dataset(d)
    except Exception as exc:  # noqa: BLE001 - counts are then "not available"
        logger.warning("evidence data not loaded: %s", exc)
        return None
