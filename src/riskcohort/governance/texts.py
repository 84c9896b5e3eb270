"""The prose of the governance pack: ALGO-CARE answers, fairness trade-off, limitations.

Why in code and not only in the template: the same sentences appear in the HTML pack and in the
Algorithmic Transparency Recording Standard markdown, and several depend on this run's facts
(performance, flags, absent sources). Every figure quoted from the literature names its source
(``shared/domain-notes.md``); every figure about this deployment comes from ``facts``.
"""

from __future__ import annotations

INTENDED_USE = (
    "Ranks people recorded as perpetrators of domestic abuse by their estimated probability of "
    "committing serious harm (homicide, attempted murder, GBH with or without intent) in the next "
    "{horizon} days, so that a multi-agency panel or supervising officer can decide whom to review "
    "first for proactive safeguarding and perpetrator-focused work (cf. MATAC panels, Met V100)."
)
OUT_OF_SCOPE = (
    "Any automated decision: the score never triggers an arrest, charge, bail, disclosure, "
    "refusal of service or any other action without a human decision and recorded reasons.",
    "Deciding that someone is not at risk: a low score is not evidence of safety; most deadly "
    "cases are not predictable from police records (see Limitations).",
    "Victim risk assessment (DASH/DARA) replacement: it ranks perpetrators, it does not assess a "
    "victim's situation.",
    "Courts, sentencing, immigration, employment or vetting decisions.",
    "Use on data of another force, or after the data changes, without a new evaluation and audit.",
)

TRADEOFF = (
    "When the base rate of serious harm differs between groups, no imperfect score can be both "
    "calibrated within every group (a score of 20% means 20% in each group) and have equal false "
    "positive and false negative rates across groups (Kleinberg, Mullainathan & Raghavan 2016; "
    "Chouldechova 2017). COMPAS in Broward County is the known example: its false positive rate "
    "was 44.9% for Black and 23.5% for white defendants and its false negative rate 28.0% vs "
    "47.7%, while calibration was similar (ProPublica's analysis).",
    "This pack treats calibration within groups as primary. The cohort is one list ranked by a "
    "single score with a single cut-off, read by people who must be able to weigh a given score "
    "the same way whoever it describes; equalising error rates would need either group-specific "
    "cut-offs (a protected characteristic deciding who is reviewed) or a deliberately "
    "mis-calibrated score. Error rates by group are shown beside calibration and flagged all the "
    "same, because they say who bears the cost of mistakes: a higher false positive rate means "
    "more people of that group reviewed without cause.",
    "Calibration against recorded outcomes cannot detect bias in what is recorded. The "
    "equal-true-risk check below addresses that where a true risk is known (synthetic data).",
)

LIMITATIONS = (
    "Recorded crime reflects policing and reporting, not all abuse: people whose abuse is not "
    "reported, or groups policed or reporting differently, are under- or over-represented in both "
    "the indicators and the outcomes the model learns from.",
    "Many deadly cases have little or no prior police contact and cannot be ranked from police "
    "records: 55% of 118 deadly or near-deadly cases in Thames Valley 2007-09 had no prior police "
    "contact with the victim and none of the 13 murders with prior contact had been graded high "
    "risk (Thornton); in Dorset 2009-15, 63% of 107 cases had prior contact but 67% of those were "
    "never graded high, and 12,279 of 12,301 high gradings (99%) were not followed by deadly "
    "violence (Chalkley & Strang 2017).",
    "Serious harm is rare, homicide rarer: homicide counts in any one evaluation are anecdotal "
    "and their intervals wide. Published models reach AUCs around 0.71-0.76 (Verrey et al. 2023; "
    "Turner, Brown & Medina-Ariza 2022): most people in any cohort will not go on to cause "
    "serious harm, and some who do will not be in it.",
    "Removing protected characteristics from the inputs does not remove their influence: "
    "indicators such as prior recorded incidents can act as proxies (Durham's HART removed "
    "postcode predictors after bias concerns).",
    "Indicators describe the past records known at the scoring date; they are not causes. A "
    "person's rank changes as records are added, corrected or expire.",
    "Performance and fairness figures hold for this data, period and horizon only; they must be "
    "re-estimated when the data, the force's recording practice or the model changes.",
)


def age_sentence(age_inputs) -> str:
    """Age is a protected characteristic (Equality Act 2010) that this model may use: say so."""
    if not age_inputs:
        return "Age is not a model input; it is used only to audit results by age band."
    return (f"Age is a model input ({', '.join(age_inputs)}). Age is a protected characteristic "
            "under the Equality Act 2010: the force must be able to justify its use as a "
            "proportionate means to a legitimate aim; its effect is shown by the audit by age "
            "band and the rank shift at equal true risk.")


def algo_care(f: dict) -> list[dict]:
    """ALGO-CARE (Oswald, Grace, Urwin & Barnes 2018) answered for this deployment and run."""
    flag_text = (f"{f['n_flags']} fairness flag(s) and {f['n_bias_flags']} equal-true-risk "
                 "flag(s) are listed in this pack and must be reviewed before use"
                 if f["n_flags"] or f["n_bias_flags"] else
                 "no fairness ratio fell outside 0.8-1.25 for groups with enough data")
    if f.get("n_rule_bias_flags"):
        flag_text += (f"; the rule baselines the model would replace have "
                      f"{f['n_rule_bias_flags']} equal-true-risk flag(s) of their own")
    return [
        {"factor": "Advisory", "question": "Is the output advisory, with a human decision?",
         "answer": "Yes. The cohort is a review list for a panel or supervising officer, who "
                   "sees the score, the reasons and the underlying records and decides; the "
                   "review app records each decision and its reason. No action is automated."},
        {"factor": "Lawful", "question": "Purpose, legal basis, necessity, proportionality?",
         "answer": "Purpose: prevention of serious domestic-abuse harm. The force must record "
                   "its legal basis for law-enforcement processing (Data Protection Act 2018, "
                   "Part 3), a data protection impact assessment, an equality impact assessment "
                   "(public sector equality duty, Equality Act 2010 s.149) and why a ranking is "
                   "necessary and proportionate. [Force to complete and sign off.]"},
        {"factor": "Granularity", "question": "Is the output detailed enough, on good data?",
         "answer": f"One score, rank and band per person as of {f['as_of']}, with per-person "
                   f"reasons and source records. Data: {f['sources_present']}; absent: "
                   f"{f['sources_absent'] or 'none'}; {f['quarantine_text']}. Labels are "
                   f"recorded serious harm within {f['horizon']} days, not all harm."},
        {"factor": "Ownership", "question": "Who owns the code, model and data?",
         "answer": "Code: open source (Apache-2.0), inspectable and re-runnable by the force. "
                   "Model and data: the force, trained on its own records; nothing leaves its "
                   "systems (the engine runs offline). [Force to name the owner.]"},
        {"factor": "Challengeable", "question": "Can outputs and their use be challenged?",
         "answer": "Each score can be traced to the indicator values and the individual records "
                   "behind them, so an officer or reviewer can check and correct the inputs. "
                   "Decisions and overrides are logged. This pack is for the force's ethics "
                   "panel and oversight bodies. [Force to state how subjects can challenge.]"},
        {"factor": "Accuracy", "question": "Is it accurate enough, measured how?",
         "answer": f"Backtest at {f['as_of']}: {f['accuracy_text']} Compared with every "
                   "baseline and the incumbent on the same people, with bootstrap intervals "
                   "(Performance section). Limitations list what it cannot see."},
        {"factor": "Responsible", "question": "Is it fair and used responsibly?",
         "answer": "Sex and ethnicity are never model inputs; they are used only in the audit, "
                   f"which reports every group, including small ones; {flag_text}. "
                   f"{age_sentence(f['age_inputs'])}"},
        {"factor": "Explainable", "question": "Can its output be explained?",
         "answer": f"{f['n_indicators']} documented indicators, each with a description and "
                   "published evidence; global explanations (Explanations section) and, for "
                   "each person, the indicators that raised or lowered the score."},
    ]
