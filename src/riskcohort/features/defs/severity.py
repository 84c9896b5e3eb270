"""Severity markers in the perpetrator's incident history (any context, ever known).

Why: non-fatal strangulation (odds ratio ~7 for later homicide, Glass et al. 2008), threats to
kill, weapons (Campbell et al. 2003), sexual violence, stalking and coercive control (Monckton-Smith
2020) mark the dangerous minority. Counted over all incidents recorded before T.
"""

from riskcohort.features.spec import Count

SPECS = (
    Count("strangulation_count", "incidents", (("offence", ("strangulation",)),)),
    Count("threats_to_kill_count", "incidents", (("offence", ("threats_to_kill",)),)),
    Count("knife_count", "incidents", (("weapon", ("knife",)),)),
    Count("firearm_count", "incidents", (("weapon", ("firearm",)),)),
    Count("sexual_offence_count", "incidents", (("offence", ("sexual_offence",)),)),
    Count("stalking_harassment_count", "incidents", (("offence", ("stalking", "harassment")),)),
    Count("coercive_control_count", "incidents", (("offence", ("coercive_control",)),)),
    Count(
        "injury_count_3y", "incidents",
        (("domestic", True), ("injury", ("minor", "serious", "fatal"))), (1095, 0),
    ),
)
