"""Serial offending and the victim's vulnerability.

Why: 43% of the most harmful offenders had more than one victim (Sherman et al. 2016); MATAC
"V" (serial = 2+ victims within 3 years). Victims of domestic incidents recorded before T;
intimate/familial kinds need the relationship record to be known at T too (``incidents_rel``).
A *new* intimate partner of a perpetrator with earlier intimate-partner abuse on record is the
serial pattern (Monckton-Smith 2020, "fast commitment"). The victim's age and repeat
victimisation of the victims by anyone describe how exposed they are (Farrell & Pease 1993).
"""

from riskcohort.features.spec import Count, Distinct, LatestAge, NewVictims

DA = (("domestic", True),)
FAMILY = ("family_parent_child", "family_sibling", "family_other")

SPECS = (
    Distinct("distinct_victims_ever", "incidents", DA),
    Distinct("distinct_victims_3y", "incidents", DA, (1095, 0)),
    Distinct("distinct_intimate_victims", "incidents_rel", (*DA, ("rel_kind", ("intimate",)))),
    Distinct("distinct_family_victims", "incidents_rel", (*DA, ("rel_kind", FAMILY))),
    NewVictims("new_intimate_partner_12m", "intimate_da", window=(365, 0)),
    LatestAge("victim_age", "incidents_victims"),
    Count("victim_repeat_victimisation_3y", "victim_incidents", window=(1095, 0)),
)
