"""What the force did about the person (contract v1.1 ``interventions``): not risk.

Why these exist: the modelling stage must be able to see management to avoid learning that
managed people are low-risk *because* they were managed (issue 17). They are catalogue role
``intervention`` and direction 0: training excludes them or fixes them to "not managed" at
scoring; they are never a reason for a score.

Management kinds: ongoing, named case management of the perpetrator by a team or panel
(``MANAGEMENT``). Orders (DVPN/DVPO/DAPO/SPO/VOO), disclosures, MARAC (a victim-safety
conference), programmes and ``other`` are interventions but not management of the person.
Point in time: a period is known from ``recorded_at``; it is open at T when it started on or
before T and no end before T was known at T (``end_recorded_at < T``); an ended period counts
once its end is known.
"""

from riskcohort.features.spec import Count, DaysSince, Open

MANAGEMENT = ("dapst_managed", "matac", "mappa")
MANAGED = (("iv_kind", MANAGEMENT),)

SPECS = (
    Open("currently_managed", "interventions", MANAGED),
    DaysSince("days_since_management_ended", "intervention_ends", MANAGED),
    Count("past_management_periods", "intervention_ends", MANAGED),
)
