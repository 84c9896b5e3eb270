"""Risk assessments (DASH/DARA) of the perpetrator's incidents, known from ``assessed_at``.

Why: the grade is what forces act on today (a baseline), and some items (strangulation, threats to
kill, separation, pregnancy, child contact, weapon, suicidal perpetrator, escalation, stalking)
carry the homicide-timeline signal even if the checklist as a whole predicts weakly (Turner, Medina
& Brown 2019). Item indicators count assessments answering yes (null = not asked, not counted).
"""

from riskcohort.features.spec import Count, DaysSince, Latest

HIGH = (("grade", ("high",)),)
ITEMS = (
    "strangulation", "threats_to_kill", "separation", "pregnancy_infant", "child_contact_conflict",
    "weapon", "perpetrator_suicidal", "escalating", "stalking",
)

SPECS = (
    Count("dash_high_12m", "assessments", HIGH, (365, 0)),
    Count("dash_high_ever", "assessments", HIGH),
    Latest("dash_latest_grade", "assessments", value="grade_rank"),
    DaysSince("days_since_last_high_grade", "assessments", HIGH),
    *(Count(f"ra_{item}_yes", "assessments", ((f"q_{item}", True),)) for item in ITEMS),
)
