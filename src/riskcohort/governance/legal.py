"""Legal and ethical sections of the pack, filled from the force's ``governance.toml``.

Why a file the force edits: the lawful basis, the proportionality of what cohort membership
unlocks and the trial's review date are the force's decisions, not the engine's. The engine states
what it knows (which inputs are health data, that it never decides, what the audit found) and
leaves every answer it cannot know visibly blank: "to be completed by the force".

Lookup of ``governance.toml`` (first found): the ``--governance FILE`` option; ``RUN_DIR/``; the
run folder's parent; the work folder (``--work`` / ``$RISKCOHORT_WORK``). None found: the template
(every field unfilled).
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path

from riskcohort.errors import UserError

FILE_NAME = "governance.toml"
TO_COMPLETE = "to be completed by the force"
#: indicator name patterns that are data concerning health (DPA 2018 s.35(8)(b))
HEALTH_PATTERNS = (r"mental_health", r"suicid", r"self_harm")


def template_text() -> str:
    """The shipped template (every field empty), with comments saying what each field is."""
    return resources.files("riskcohort.governance").joinpath("templates", FILE_NAME) \
        .read_text("utf-8")


def find(run_dir=None, explicit=None, work=None) -> Path | None:
    """The governance.toml to use (see module doc), or None."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise UserError(f"--governance {explicit}: file not found (copy the template from "
                            "`riskcohort report --governance-template FILE`)")
        return p
    work = work or os.environ.get("RISKCOHORT_WORK")
    candidates = []
    if run_dir is not None:
        candidates += [Path(run_dir) / FILE_NAME, Path(run_dir).parent / FILE_NAME]
    if work:
        candidates.append(Path(work) / FILE_NAME)
    return next((p for p in candidates if p.is_file()), None)


def load(path: Path | None) -> dict:
    """The force's answers merged over the template (so every field exists)."""
    base = tomllib.loads(template_text())
    if path is None:
        return base
    try:
        force = tomllib.loads(Path(path).read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); rule: governance.toml follows the "
                        "template of `riskcohort report --governance-template FILE`") from None
    for section, values in force.items():
        if isinstance(values, dict):
            base.setdefault(section, {}).update(values)
        else:
            base[section] = values
    return base


def filled(value) -> bool:
    if isinstance(value, list):
        return any(str(v).strip() for v in value)
    return value is not None and str(value).strip() != ""


def health_inputs(features) -> list[str]:
    """Model inputs that are data concerning health (mental-health and suicide markers)."""
    return [f for f in features or [] if any(re.search(p, f) for p in HEALTH_PATTERNS)]


def _field(cfg: dict, section: str, key: str, label: str) -> dict:
    value = (cfg.get(section) or {}).get(key)
    return {"label": label, "value": value if filled(value) else None,
            "list": isinstance(value, list), "key": f"{section}.{key}"}


def _dpa(cfg: dict, facts: dict) -> dict:
    """Data protection: the lawful basis, and health data as sensitive processing."""
    from riskcohort.display import indicator_name

    health = health_inputs(facts.get("features"))
    health_text = (
        "This model uses " + ", ".join(f"“{indicator_name(h)}”" for h in health)
        + ". Mental-health and suicide or self-harm markers are data concerning health: their "
        "use is sensitive processing (s.35(3)-(5), (8)(b)) and needs a condition in Schedule 8 "
        "and an appropriate policy document."
        if health else "No model input is data concerning health by name; the force should "
        "still confirm that no indicator reveals health, ethnicity or other sensitive data.")
    return (
        {"id": "dpa", "title": "Data Protection Act 2018, Part 3: lawful basis and sensitive "
         "processing (s.35, Schedule 8)",
         "asks": "Processing for a law-enforcement purpose must be lawful and fair (s.35(1)-(2)) "
                 "and, for sensitive data, strictly necessary with a Schedule 8 condition and an "
                 "appropriate policy document (s.35(5), s.42).",
         "engine": [health_text,
                    "Sex and ethnicity are read only to audit fairness, never as model inputs.",
                    f"Data sources used: {facts.get('sources_present', 'unknown')}."],
         "fields": [_field(cfg, "data_protection", "controller", "Controller"),
                    _field(cfg, "data_protection", "law_enforcement_purpose",
                           "Law-enforcement purpose (s.31)"),
                    _field(cfg, "data_protection", "lawful_basis_s35", "Lawful basis (s.35(2))"),
                    _field(cfg, "data_protection", "sensitive_processing_condition",
                           "Schedule 8 condition for health data"),
                    _field(cfg, "data_protection", "appropriate_policy_document",
                           "Appropriate policy document (s.42)"),
                    _field(cfg, "data_protection", "dpia_reference",
                           "Data protection impact assessment (s.64)"),
                    _field(cfg, "data_protection", "retention", "Retention"),
                    _field(cfg, "data_protection", "data_protection_officer_consulted",
                           "Data protection officer consulted")]}
    )


def _automated(cfg: dict) -> dict:
    """Automated decisions: the engine ranks, an officer decides (and the app shows it)."""
    return (
        {"id": "automated", "title": "Automated decisions: safeguards (ss.49-50)",
         "asks": "A decision that significantly affects a person may not be based solely on "
                 "automated processing unless authorised by law, with safeguards (s.49-50).",
         "engine": ["The engine makes no decision: it ranks people for review. The cohort is a "
                    "reading list for officers, who see each person's score, reasons and source "
                    "records before deciding anything.",
                    "The review app records every decision with the officer's name, time and "
                    "reason in a tamper-evident audit chain (`riskcohort audit`); a decision "
                    "without a reason cannot be saved."],
         "fields": [_field(cfg, "automated_decisions", "human_decision",
                           "Who decides what (the human decision)"),
                    _field(cfg, "automated_decisions", "how_evidenced",
                           "How each human decision is evidenced"),
                    _field(cfg, "automated_decisions", "override_policy", "Override policy")]}
    )


def _article8(cfg: dict, facts: dict) -> dict:
    """Article 8: what cohort membership unlocks must be proportionate to its errors."""
    k = facts.get("k")
    return (
        {"id": "article8", "title": "Human Rights Act 1998, Article 8: proportionality",
         "asks": "Interference with private and family life must be in accordance with the law, "
                 "pursue a legitimate aim and be necessary and proportionate; the more cohort "
                 "membership unlocks, the stronger the justification must be.",
         "engine": [f"The cohort holds the top {k} people scored. Most people in any cohort will "
                    "not go on to cause serious harm (see Performance: precision), so whatever "
                    "membership unlocks will reach many people who would not have.",
                    "A low score is not evidence of safety and must never close a case."],
         "fields": [_field(cfg, "human_rights", "what_membership_unlocks",
                           "What cohort membership unlocks (and never unlocks)"),
                    _field(cfg, "human_rights", "legitimate_aim", "Legitimate aim"),
                    _field(cfg, "human_rights", "necessity", "Necessity"),
                    _field(cfg, "human_rights", "less_intrusive_alternatives",
                           "Less intrusive alternatives considered"),
                    _field(cfg, "human_rights", "safeguards", "Safeguards"),
                    _field(cfg, "human_rights", "challenge_route",
                           "How a person can challenge")]}
    )


def _equality(cfg: dict, facts: dict) -> dict:
    """Equality duty: the fairness audit's findings beside the force's consideration."""
    return (
        {"id": "equality", "title": "Equality Act 2010: public sector equality duty (s.149)",
         "asks": "The force must have due regard to eliminating discrimination and advancing "
                 "equality of opportunity between people who share a protected characteristic "
                 "and those who do not, before and during use.",
         "engine": [f"The fairness audit (by ethnicity, sex and age band) found "
                    f"{facts.get('n_flags', 0)} ratio(s) outside 0.8-1.25 and "
                    f"{facts.get('n_bias_flags', 0)} equal-true-risk flag(s) for the model.",
                    facts.get("age_sentence", "")],
         "fields": [_field(cfg, "equality", "equality_impact_assessment",
                           "Equality impact assessment"),
                    _field(cfg, "equality", "psed_consideration",
                           "How the audit was considered"),
                    _field(cfg, "equality", "age_as_input_justification",
                           "Justification for age as an input")]}
    )


def _trial(cfg: dict) -> dict:
    """ALGO-CARE trial: a time-limited use with success and stop criteria."""
    return (
        {"id": "trial", "title": "ALGO-CARE: a time-limited trial with success criteria",
         "asks": "ALGO-CARE asks for a time-limited trial with pre-registered success criteria "
                 "and a date by which use is reviewed and, unless renewed, stops.",
         "engine": ["`riskcohort shadow freeze` stamps a cohort so that it can be evaluated "
                    "against outcomes recorded later (shadow mode) without anyone being able to "
                    "change it after the fact."],
         "fields": [_field(cfg, "force", "phase", "Phase"),
                    _field(cfg, "trial", "start_date", "Trial start"),
                    _field(cfg, "trial", "review_date", "Review date"),
                    _field(cfg, "trial", "sunset_date", "Sunset date (use stops unless renewed)"),
                    _field(cfg, "trial", "success_criteria", "Pre-registered success criteria"),
                    _field(cfg, "trial", "stop_criteria", "Stop criteria"),
                    _field(cfg, "trial", "evaluation_plan", "Evaluation plan")]}
    )


def sections(cfg: dict, facts: dict) -> list[dict]:
    """The legal and ethical sections: what the law asks, what the engine shows, the force's
    answers (``value`` None = to be completed). One function per section, so each law's text
    can be read and changed alone."""
    return [_dpa(cfg, facts), _automated(cfg), _article8(cfg, facts), _equality(cfg, facts),
            _trial(cfg)]


def unfilled(secs: list[dict]) -> int:
    """How many fields are still to be completed by the force."""
    return sum(f["value"] is None for s in secs for f in s["fields"])
