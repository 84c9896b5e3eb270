"""Protective orders, bail conditions, breaches and custody.

Why: breaching an order signals the perpetrator is not deterred; an order or bail in force marks
a live risk; release from custody is a known high-risk moment and being held removes opportunity.
Orders count when recorded before T and in force at T (``start_date <= T < end_date``); breaches
are ``breach_of_order`` incidents by occurrence window; custody is known from its ``start_date``
and a release once ``end_date`` has passed.
"""

from riskcohort.features.spec import Active, Count, DaysSince

PROTECTIVE = ("dvpn", "dvpo", "dapo", "non_molestation", "restraining", "violent_offender_order")
BREACH = (("offence", ("breach_of_order",)),)

SPECS = (
    Active("active_protective_orders", "orders", (("order_kind", PROTECTIVE),)),
    Active("bail_conditions_active", "orders", (("order_kind", ("bail_conditions",)),)),
    Count("breach_count_365d", "incidents", BREACH, (365, 0)),
    Count("breach_count_3y", "incidents", BREACH, (1095, 0)),
    DaysSince("days_since_custody_release", "custody_releases"),
    Active("in_custody", "custody"),
)
