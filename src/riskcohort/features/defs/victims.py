"""Serial offending: distinct victims (MATAC "V"; serial = 2+ victims within 3 years).

Why: 43% of the most harmful offenders had more than one victim (Sherman et al. 2016). Victims of
domestic incidents recorded before T; intimate/familial kinds need the relationship record to be
known at T too (source ``incidents_rel``).
"""

from riskcohort.features.spec import Distinct

DA = (("domestic", True),)
FAMILY = ("family_parent_child", "family_sibling", "family_other")

SPECS = (
    Distinct("distinct_victims_ever", "incidents", DA),
    Distinct("distinct_victims_3y", "incidents", DA, (1095, 0)),
    Distinct("distinct_intimate_victims", "incidents_rel", (*DA, ("rel_kind", ("intimate",)))),
    Distinct("distinct_family_victims", "incidents_rel", (*DA, ("rel_kind", FAMILY))),
)
