"""Which months the primary estimate uses: the *sharp* ones (``--months sharp``, the default).

Why: the cut-off comparison is a regression discontinuity design. It identifies the effect of
management from the people on either side of the cut when the design is **sharp**: whoever is
ranked above the cut is picked and whoever is below is not, so nothing but the ranking (which
the engine rebuilds from the extract) decides who is managed. When the team's picks only partly
follow any ranking the engine can rebuild, the design is **fuzzy**: the probability of being
picked jumps at the cut by less than 1, and the people who crossed it were moved by something
the extract does not hold (officer judgement, intelligence, history from before the extract).
Comparing the picked with the unpicked (as treated) is then biased by however that hidden
information predicts harm, and the bias grows with the share of picks it decided. A fuzzy
design needs either a first stage strong enough to divide by, or the assumption that the
hidden information is unrelated to harm; neither can be checked from the extract.

A month's agreement (the share of its picks that the chosen ranking's top ``n`` holds) measures
this directly. ``SHARP_AGREEMENT = 0.8``: a month is treated as sharp when at least four in five
of its picks are explained by the ranking. At that level, even when every miss sits just below
the cut, the probability of being picked falls from at least 0.8 above the cut to at most 0.2
within the next ``n`` ranks (a jump of at least 0.6), and at most one pick in five carries the
hidden selection into the contrast. The number is a judgement fixed from that argument before
any measurement, not fitted to a data set; the RD literature has no single conventional value.

Restricting on agreement uses no outcomes: which months are kept is decided by who was picked
and by the rankings, before any harm is looked at, so it cannot manufacture an effect. It
changes *whom* the estimate is about (the months in which the team's choice can be
reproduced), and the all-months estimate is always reported beside it (``checks.all_months``).

``MIN_SHARP_MANAGED = 200``: the sharp months must still hold at least 200 managed people in the
compared region. At the serious-harm rates of people near a team's cut (about 5-10% over the
window) that is 10-20 events on the managed side, the usual minimum (about 10) for a relative
risk whose interval can say anything; with fewer, all months are used and a warning says the
estimate rests on a fuzzy design. This number is also outcome-free (it counts people).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHARP_AGREEMENT = 0.8  #: a month is sharp when its ranking's top n holds >= 80% of its picks
MIN_SHARP_MANAGED = 200  #: managed people in the compared region the sharp months must hold
MODES = ("sharp", "all")


def sharp_months(by_month: list[dict], threshold: float = SHARP_AGREEMENT) -> list[str]:
    """Months (ISO dates) whose chosen ranking holds at least ``threshold`` of their picks."""
    return [m["month"] for m in by_month if m["agreement"] >= threshold]


def rows_in(month: np.ndarray, months: list[str]) -> np.ndarray:
    """Rows whose month start is one of ``months`` (ISO dates)."""
    return pd.Series(pd.to_datetime(month)).isin(pd.to_datetime(months)).to_numpy()


def pooled_agreement(by_month: list[dict], months: list[str]) -> float:
    """Share of the picks of ``months`` held by their chosen rankings' top n."""
    sel = [m for m in by_month if m["month"] in set(months)]
    n = sum(m["n_picks"] for m in sel)
    return float(sum(m["agreement"] * m["n_picks"] for m in sel) / n) if n else 0.0


def decide(mode: str, by_month: list[dict], sharp_managed: int, sharp_ok: bool
           ) -> tuple[str, str | None]:
    """(``"sharp"`` or ``"all"``, the reason for falling back or None).

    ``sharp_managed``: managed people in the compared region of the sharp months; ``sharp_ok``:
    whether an estimate and its interval could be computed on them at all."""
    if mode == "all":
        return "all", None
    kept = sharp_months(by_month)
    if not kept:
        return "all", (f"no month's ranking holds {SHARP_AGREEMENT:.0%} of its picks (the "
                       "design is fuzzy in every month)")
    if sharp_managed < MIN_SHARP_MANAGED:
        return "all", (f"the {len(kept)} sharp month(s) (ranking holds >= "
                       f"{SHARP_AGREEMENT:.0%} of picks) hold only {sharp_managed} managed "
                       f"people in the compared region (minimum {MIN_SHARP_MANAGED})")
    if not sharp_ok:
        return "all", (f"too few serious-harm events in the {len(kept)} sharp month(s) for a "
                       "relative risk and interval")
    return "sharp", None
