"""Protective orders, bail conditions, breaches and custody.

Why: breaching an order signals the perpetrator is not deterred (behaviour: direction +1). Orders
and bail in force are police and court *responses* to risk that can also reduce it: catalogue
direction 0, role ``response``. Every order kind of the contract is counted (``other`` in its own
indicator, not dropped). Orders count when recorded before T and in force at T
(``start_date <= T < end_date``); breaches are ``breach_of_order`` incidents by occurrence
window. Custody (contract v1.1) is known from its ``start_date``; a release once ``end_date < T``:
``in_custody`` is 1 when a period known at T has started and not ended before T.
"""

from riskcohort.features.spec import Active, Count, DaysSince, Open

PROTECTIVE = ("dvpn", "dvpo", "dapo", "non_molestation", "restraining", "violent_offender_order")
BREACH = (("offence", ("breach_of_order",)),)

SPECS = (
    Active("active_protective_orders", "orders", (("order_kind", PROTECTIVE),)),
    Active("bail_conditions_active", "orders", (("order_kind", ("bail_conditions",)),)),
    Active("active_other_orders", "orders", (("order_kind", ("other",)),)),
    Count("breach_count_365d", "incidents", BREACH, (365, 0)),
    Count("breach_count_3y", "incidents", BREACH, (1095, 0)),
    DaysSince("days_since_custody_release", "custody_releases"),
    Open("in_custody", "custody"),
)
