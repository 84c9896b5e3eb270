"""Risk assessments (DASH/DARA) of the perpetrator's incidents, known from ``assessed_at``.

Why: the grade is what forces act on today (a baseline), and every item of the checklist in the
contract is offered to the model (issue 16: the catalogue must not be fitted to our generator).
The checklist as a whole predicts weakly (Turner, Medina & Brown 2019) but some items carry the
homicide-timeline signal (strangulation, threats to kill, separation, stalking, escalation,
jealous/controlling behaviour, fear, sexual abuse). Item indicators count assessments answering
yes (null = not asked, not counted): in the last 12 months and 3 years for every item, and ever
for strangulation and threats to kill (an old yes keeps its meaning there).
"""

from riskcohort.contract.schema import ASSESSMENT_QUESTIONS
from riskcohort.features.spec import Count, DaysSince, Latest

HIGH = (("grade", ("high",)),)
#: "ever" only where an old yes keeps its meaning for homicide risk (Glass et al. 2008 prior
#: strangulation; Campbell et al. 2003 prior threats to kill); the rest are 12 months / 3 years.
EVER_ITEMS = ("strangulation", "threats_to_kill")
ITEMS = tuple(q.removeprefix("q_") for q in ASSESSMENT_QUESTIONS)


def _yes(item: str) -> tuple:
    return ((f"q_{item}", True),)


SPECS = (
    Count("dash_high_12m", "assessments", HIGH, (365, 0)),
    Count("dash_high_ever", "assessments", HIGH),
    Latest("dash_latest_grade", "assessments", value="grade_rank"),
    DaysSince("days_since_last_high_grade", "assessments", HIGH),
    *(Count(f"ra_{item}_yes", "assessments", _yes(item)) for item in EVER_ITEMS),
    *(Count(f"ra_{item}_12m", "assessments", _yes(item), (365, 0)) for item in ITEMS),
    *(Count(f"ra_{item}_3y", "assessments", _yes(item), (1095, 0)) for item in ITEMS),
)
