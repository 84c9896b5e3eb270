"""History as perpetrator: recency, frequency and gravity (MATAC RFG; Met V100).

Why: criminal and DA history, "particularly time since the last incident", carry most of the
signal (Turner, Brown & Medina-Ariza 2022; Grogger et al. 2021). Windows are on ``occurred_at``
among incidents recorded before T; "DA" means ``domestic`` is true. Crimes outside the domestic
context are split into violence, possession offences (drugs, weapons possession: found mostly by
stop and search, so they measure policing as much as behaviour; catalogue ``proxy_risk``) and
the rest, so governance can drop the proxies without losing the violent history.
"""

from riskcohort.contract.schema import OFFENCES
from riskcohort.features.spec import Count, DaysSince, Escalation, Max, Sum

DA = (("domestic", True),)
VIOLENCE = (
    "common_assault", "abh", "gbh", "gbh_with_intent", "attempted_murder", "homicide",
    "strangulation",
)
POSSESSION = ("drugs", "weapons_possession")
OTHER_CRIMES = tuple(o for o in OFFENCES if o not in ("non_crime", *VIOLENCE, *POSSESSION))
Y1, Y3 = (365, 0), (1095, 0)

SPECS = (
    DaysSince("days_since_last_da", "incidents", DA),
    Count("da_count_90d", "incidents", DA, (90, 0)),
    Count("da_count_365d", "incidents", DA, Y1),
    Count("da_count_3y", "incidents", DA, Y3),
    Count("violence_count_3y", "incidents", (("offence", VIOLENCE),), Y3),
    Count("possession_count_3y", "incidents", (("offence", POSSESSION),), Y3),
    Count("other_crime_count_3y", "incidents", (("offence", OTHER_CRIMES),), Y3),
    Sum("harm_365d", "incidents", DA, Y1, value="harm"),
    Sum("harm_3y", "incidents", DA, Y3, value="harm"),
    Max("gravity_max_3y", "incidents", DA, Y3, value="harm"),
    Escalation("da_escalation", "incidents", DA),
    Count("children_present_3y", "incidents", (*DA, ("children_present", True)), Y3),
)
