"""History as perpetrator: recency, frequency and gravity (MATAC RFG; Met V100).

Why: criminal and DA history, "particularly time since the last incident", carry most of the
signal (Turner, Brown & Medina-Ariza 2022; Grogger et al. 2021). Windows are on ``occurred_at``
among incidents recorded before T; "DA" means ``domestic`` is true.
"""

from riskcohort.contract.schema import OFFENCES
from riskcohort.features.spec import Count, DaysSince, Escalation, Max, Sum

DA = (("domestic", True),)
CRIMES = tuple(o for o in OFFENCES if o != "non_crime")
VIOLENCE = (
    "common_assault", "abh", "gbh", "gbh_with_intent", "attempted_murder", "homicide",
    "strangulation",
)
Y1, Y3 = (365, 0), (1095, 0)

SPECS = (
    DaysSince("days_since_last_da", "incidents", DA),
    Count("da_count_90d", "incidents", DA, (90, 0)),
    Count("da_count_365d", "incidents", DA, Y1),
    Count("da_count_3y", "incidents", DA, Y3),
    Count("crime_count_3y", "incidents", (("offence", CRIMES),), Y3),
    Count("violence_count_3y", "incidents", (("offence", VIOLENCE),), Y3),
    Sum("harm_365d", "incidents", DA, Y1, value="harm"),
    Sum("harm_3y", "incidents", DA, Y3, value="harm"),
    Max("gravity_max_3y", "incidents", DA, Y3, value="harm"),
    Escalation("da_escalation", "incidents", DA),
)
