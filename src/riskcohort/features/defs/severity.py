"""Severity markers in the perpetrator's incident history (any context).

Why: non-fatal strangulation (odds ratio ~7 for later homicide, Glass et al. 2008), threats to
kill, weapons (Campbell et al. 2003), sexual violence, stalking and coercive control (Monckton-Smith
2020) mark the dangerous minority. The homicide-timeline behaviours are counted ever and in
recency windows (365 days, 3 years), because the timeline is about what is happening *now*.
The strangulation offence exists only from June 2022 (Domestic Abuse Act 2021, s.70): earlier
strangulation is recorded as assault, so the strangulation history before then reaches the model
through the DASH/DARA answer (``ra_strangulation_*``) and the assault/injury counts, not this one.
"""

from riskcohort.features.spec import Count

Y1, Y3 = (365, 0), (1095, 0)
TIMELINE = {
    "strangulation": ("strangulation",),
    "threats_to_kill": ("threats_to_kill",),
    "stalking_harassment": ("stalking", "harassment"),
    "coercive_control": ("coercive_control",),
}
WEAPONS = ("knife", "firearm", "blunt", "other")


def _timeline(name: str, offences: tuple[str, ...]):
    where = (("offence", offences),)
    return (
        Count(f"{name}_count", "incidents", where),
        Count(f"{name}_count_365d", "incidents", where, Y1),
        Count(f"{name}_count_3y", "incidents", where, Y3),
    )


SPECS = (
    *(spec for name, offences in TIMELINE.items() for spec in _timeline(name, offences)),
    Count("knife_count", "incidents", (("weapon", ("knife",)),)),
    Count("firearm_count", "incidents", (("weapon", ("firearm",)),)),
    Count("weapon_count_3y", "incidents", (("weapon", WEAPONS),), Y3),
    Count("sexual_offence_count", "incidents", (("offence", ("sexual_offence",)),)),
    Count(
        "injury_count_3y", "incidents",
        (("domestic", True), ("injury", ("minor", "serious", "fatal"))), (1095, 0),
    ),
)
