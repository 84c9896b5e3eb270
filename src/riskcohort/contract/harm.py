"""Crime-harm weights per offence, in the style of the Cambridge Crime Harm Index (CHI).

Why: MATAC-style "gravity" and the Met Police V100 ranking both weigh offences by harm rather than
counting them. The CHI (Sherman, Neyroud & Neyroud 2016; 2023 update adding non-fatal
strangulation) scores an offence as the days of imprisonment at the sentencing-guideline starting
point for a first offender. The contract's offence classes are broader than the guideline
categories, so each weight below is an *approximation* of the starting point of the most typical
guideline category for that class (England & Wales Sentencing Council guidelines), and a
non-custodial starting point is scored as a small number of days (a community order as about
10 days, a fine as 1-5 days). They are documented, not official CHI values: say "approximate"
wherever they are reported.

>>> HARM_WEIGHTS["homicide"] > HARM_WEIGHTS["gbh"] > HARM_WEIGHTS["common_assault"]
True
>>> from riskcohort.contract.schema import OFFENCES
>>> set(HARM_WEIGHTS) == set(OFFENCES)
True
"""

from __future__ import annotations

#: offence -> approximate CHI weight in days of imprisonment (first offender starting point).
HARM_WEIGHTS: dict[str, float] = {
    "homicide": 5475.0,  # murder: 15-year minimum term starting point (CHI convention)
    "attempted_murder": 3650.0,  # approx. 10 years (category 2 starting points vary 10-20 years)
    "gbh_with_intent": 1460.0,  # s.18: category 2 starting point 4 years
    "gbh": 547.0,  # s.20: category 2 starting point 18 months
    "strangulation": 547.0,  # non-fatal strangulation (2022 offence; CHI 2023): approx. 18 months
    "sexual_offence": 1460.0,  # broad class: approx. sexual assault/rape mid-range, 4 years
    "threats_to_kill": 365.0,  # category 2 starting point 1 year
    "coercive_control": 365.0,  # category 2B starting point 1 year
    "stalking": 365.0,  # stalking involving fear of violence, category 2 approx. 1 year
    "abh": 182.0,  # s.47: category 2 starting point 26 weeks
    "weapons_possession": 182.0,  # bladed article possession: approx. 6 months
    "harassment": 84.0,  # s.2 harassment / putting in fear, approx. 12 weeks
    "breach_of_order": 84.0,  # breach of protective order, category 2 starting point 12 weeks
    "common_assault": 10.0,  # community order starting point (approx. 10 days)
    "theft": 7.0,  # low-value theft: fine/community order
    "criminal_damage": 5.0,  # fine band
    "public_order": 5.0,  # s.4/s.5 public order: fine band
    "drugs": 2.0,  # possession: fine band
    "other": 5.0,  # unknown mix of minor offences
    "non_crime": 0.0,  # a non-crime domestic incident carries no sentence
}
