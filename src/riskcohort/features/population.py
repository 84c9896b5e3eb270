"""Scored population at T (contract "Time rules").

Persons alive at T (``death_date`` null or after T) who were perpetrator of at least one domestic
incident known at T (``recorded_at < T``) and recorded within the lookback
(``recorded_at >= T - lookback_days``). All snapshots are computed in one range join.
"""

from __future__ import annotations

import ibis


def population(
    incidents: ibis.Table, persons: ibis.Table, snapshots: ibis.Table, lookback_days: int
) -> ibis.Table:
    """(rid, person_id, as_of, birth_date) for every snapshot date in ``snapshots.as_of``."""
    i = incidents.filter(incidents.domestic.fill_null(False))
    rec = i.recorded_at.cast("timestamp")
    j = snapshots.join(
        i, [rec < snapshots.as_of, rec >= snapshots.as_of - ibis.interval(days=lookback_days)]
    )
    pairs = j.select(person_id=j.perpetrator_id.cast("string"), as_of=j.as_of).distinct()
    p = persons.select(
        pid=persons.person_id.cast("string"),
        birth_date=persons.birth_date.cast("timestamp"),
        death_date=persons.death_date.cast("timestamp"),
    )
    k = pairs.join(p, pairs.person_id == p.pid)
    k = k.filter(k.death_date.isnull() | (k.death_date > k.as_of))
    # rows numbered 0..n-1 in (as_of, person_id) order: aggregates key on this integer
    rid = ibis.row_number().over(ibis.window(order_by=[k.as_of, k.person_id]))
    return k.select(rid=rid.cast("int64"), person_id=k.person_id, as_of=k.as_of,
                    birth_date=k.birth_date)
