"""Outcome labels: serious harm perpetrated in ``[T, T + horizon)``.

Why each rule: the label is what the model is trained to foresee, so it uses the time the harm
*occurred*; ``labels_known_by`` keeps only incidents recorded before that date, so a training
label never uses records a backtest at that date could not have seen. A label is only defined
when the whole horizon is observable: ``T + horizon <=`` the end of the latest recorded day in
the data (midnight after the largest ``recorded_at``; and ``<= labels_known_by`` when given);
otherwise :func:`check_horizon` raises a ``UserError`` (a label of 0 would silently mean "not yet
recorded").
"""

from __future__ import annotations

import ibis
import pandas as pd

from riskcohort.errors import UserError
from riskcohort.features.sources import harm_expr


def check_horizon(
    snapshots: pd.DatetimeIndex, incidents: pd.DataFrame, horizon_days: int, labels_known_by
) -> None:
    """Raise when a snapshot's horizon is not fully observed in the data."""
    # the data cover the whole latest recorded day: observed up to the next midnight
    latest = pd.Timestamp(incidents["recorded_at"].max()).normalize() + pd.Timedelta(days=1)
    if labels_known_by is not None:
        latest = min(latest, pd.Timestamp(labels_known_by))
    end = snapshots + pd.Timedelta(days=horizon_days)
    bad = snapshots[end > latest]
    if len(bad):
        raise UserError(
            f"features: labels need the whole {horizon_days}-day horizon observed: as-of "
            f"{', '.join(str(d.date()) for d in bad[:5])} + horizon is after the latest recorded "
            f"day's end {latest} (rule: T + horizon <= end of the latest recorded day"
            f"{' and labels_known_by' if labels_known_by is not None else ''}); "
            "use earlier --as-of dates or drop --labels"
        )


def labels(
    pop: ibis.Table,
    incidents: ibis.Table,
    *,
    horizon_days: int,
    serious_offences,
    domestic_only: bool,
    labels_known_by=None,
) -> ibis.Table:
    """(rid, serious_harm, homicide, harm_weight) for population rows with an outcome incident.

    ``harm_weight`` sums ``HARM_WEIGHTS`` of the *domestic* offences perpetrated in the horizon
    (the harm@k currency), whatever ``serious_offences`` is.
    """
    i = incidents
    occ = i.occurred_at.cast("timestamp")
    j = pop.join(
        i,
        [
            pop.person_id == i.perpetrator_id.cast("string"),
            occ >= pop.as_of,
            occ < pop.as_of + ibis.interval(days=horizon_days),
        ],
    )
    if labels_known_by is not None:
        j = j.filter(j.recorded_at.cast("timestamp") < pd.Timestamp(labels_known_by))
    dom = j.domestic.fill_null(False)
    scope = dom if domestic_only else ibis.literal(True)
    serious = j.offence.isin(list(serious_offences)) & scope
    homicide = (j.offence == "homicide") & scope
    return j.group_by("rid").aggregate(
        serious_harm=ibis.ifelse(serious, 1, 0).max(),
        homicide=ibis.ifelse(homicide, 1, 0).max(),
        harm_weight=harm_expr(j.offence).sum(where=dom),
    )
