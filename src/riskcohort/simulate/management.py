"""A team that acts: each quarter the force manages its top K people for six months.

Why in the generator: once a force uses a cohort, the people it manages have different outcomes
from the ones they would have had. A ranking, a training method or an impact estimate can only be
judged where the effect of management is known. So the simulation lets a team pick, at every
quarter start (January, April, July, October) from the first written month, the top ``k`` people
by the ILAS points computable from the *incidents recorded before that day* (the points of
``baseline.POINTS`` for strangulation, threats to kill, stalking/harassment and breaches in the
last year, serious violence, sexual offences, recency and the capped count of DA crimes in the
last year; DASH/DARA grades, markers and the weapon field are made after the simulation so the
team cannot see them). A managed person's monthly hazard of serious harm is multiplied by
``1 - effect`` while managed and, with ``tail_months > 0``, by ``1 - effect * exp(-j /
tail_months)`` in the j-th month after management ends. ``effect = 0`` is a placebo team:
management is recorded and changes nothing.

The selection uses its own random stream (ties are broken at random), so with ``effect = 0`` the
world is exactly the unmanaged world of the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from riskcohort.contract.schema import OFFENCES

MANAGED_MONTHS = 6  # one management period (re-selection extends it)
EVERY_MONTHS = 3  # the team re-selects each quarter
_O = {o: i for i, o in enumerate(OFFENCES)}
_VIOLENCE = [_O[o] for o in ("abh", "gbh", "gbh_with_intent", "attempted_murder")]


@dataclass
class Team:
    """Management state of one block (``k`` people chosen per quarter)."""

    k: int
    effect: float
    tail_months: float
    start_month: int  # first simulated month the team selects in (the first written month)
    start_day: float  # first day of the written record period
    rng: np.random.Generator
    n: int
    until: np.ndarray = field(init=False)  # month index management ends (exclusive), -1 never
    picks: list = field(default_factory=list)  # (month, person indexes) of each selection
    events: list = field(default_factory=list)  # recorded DA crimes: (perp, rec_day, code)

    def __post_init__(self):
        self.until = np.full(self.n, -1, dtype=np.int64)

    def record(self, perp, code, rec_day, recorded, domestic) -> None:
        """Keep the recorded domestic crimes the team's rule reads (called every month)."""
        keep = recorded & domestic & (code != _O["non_crime"])
        self.events.append((perp[keep], rec_day[keep], code[keep]))

    def select(self, m: int, day: float, eligible: np.ndarray) -> None:
        """At a quarter start, manage the top ``k`` eligible people by the rule's points."""
        if m < self.start_month or (m - self.start_month) % EVERY_MONTHS or self.k <= 0:
            return
        score, in_window = self._points(day)
        eligible = eligible & in_window
        score = np.where(eligible & (score > 0), score + 0.5 * self.rng.random(self.n), -1.0)
        k = min(self.k, int((score > 0).sum()))
        if k == 0:
            return
        top = np.argpartition(-score, k - 1)[:k]
        self.until[top] = m + MANAGED_MONTHS
        self.picks.append((m, np.sort(top)))

    def multiplier(self, m: int) -> np.ndarray | None:
        """Hazard multiplier this month (None when nobody is or was managed)."""
        if not self.picks:
            return None
        managed = self.until > m  # ``until`` is only ever set at a selection on or before m
        mult = np.where(managed, 1.0 - self.effect, 1.0)
        if self.tail_months > 0:
            j = m - self.until + 1
            after = (self.until >= 0) & (j >= 1) & ~managed
            mult = np.where(after, 1.0 - self.effect * np.exp(-j / self.tail_months), mult)
        return mult

    def _points(self, day: float) -> tuple[np.ndarray, np.ndarray]:
        """ILAS points from incidents recorded before ``day`` (the team's rule), and whether the
        person has a DA crime recorded in the written period (only they can be managed, so
        every managed person is in the extract's ``persons`` with a record)."""
        from riskcohort.simulate.baseline import POINTS

        perp = np.concatenate([e[0] for e in self.events])
        rec = np.concatenate([e[1] for e in self.events])
        code = np.concatenate([e[2] for e in self.events])
        before = rec < day
        in_window = np.bincount(perp[before & (rec >= self.start_day)], minlength=self.n) > 0
        known = before & (rec >= day - 3 * 365)
        perp, rec, code = perp[known], rec[known], code[known]
        y1 = rec >= day - 365
        n = self.n

        def ever(mask):
            return np.bincount(perp[mask], minlength=n) > 0

        pts = (POINTS["strangulation"] * ever(code == _O["strangulation"])
               + POINTS["threats_to_kill"] * ever(code == _O["threats_to_kill"])
               + POINTS["stalking"] * ever(y1 & np.isin(code, [_O["stalking"], _O["harassment"]]))
               + POINTS["breach"] * ever(y1 & (code == _O["breach_of_order"]))
               + POINTS["violence"] * ever(np.isin(code, _VIOLENCE))
               + POINTS["sexual"] * ever(code == _O["sexual_offence"])
               + POINTS["recent"] * ever(rec >= day - 90))
        return pts + 2.0 * np.minimum(np.bincount(perp[y1], minlength=n), 5), in_window

    def periods(self) -> list[tuple[int, int, int]]:
        """Merged management periods (person, first month, end month exclusive)."""
        out: dict[int, list[list[int]]] = {}
        for m, who in self.picks:
            for p in who.tolist():
                spans = out.setdefault(p, [])
                if spans and spans[-1][1] >= m:
                    spans[-1][1] = m + MANAGED_MONTHS
                else:
                    spans.append([m, m + MANAGED_MONTHS])
        return sorted((p, a, b) for p, spans in out.items() for a, b in spans)
