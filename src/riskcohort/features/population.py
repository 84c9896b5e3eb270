"""Scored population at T (contract "Time rules", v1.1).

Persons alive at T (``death_date`` null or after T) who were perpetrator of at least one domestic
incident known at T (``recorded_at < T``) and recorded within the lookback. The lookback counts
time **at liberty** (v1.1): an incident recorded at ``r`` qualifies when
``(T - r) - (custody days in [r, T)) <= lookback``. Why: a perpetrator released after a long
sentence for a domestic offence must be scored again on release, when risk is highest (domain
notes, the Essex violent-offender-order case), and someone held at T is scored and flagged.

Custody known at T: a period counts from its ``start_date`` (only its part before T matters), and
it has ended only when ``end_date < T``; a later or missing end means held up to T. Overlapping
periods are merged first (a remand followed by an overlapping sentence counts once). Merging does
not depend on T: the union of the periods clipped to ``(-inf, T)`` is the clip of their union.

All snapshots are computed in one range join; the custody part only touches incidents older than
the plain lookback of people with a custody record.
"""

from __future__ import annotations

import ibis

FOREVER = ibis.literal("2200-01-01 00:00:00").cast("timestamp")  # open (fits nanoseconds)
DAY = 86400


def merged_custody(custody: ibis.Table) -> ibis.Table:
    """(person, s, e) merged custody periods; ``e`` = FOREVER when still held.

    Gaps-and-islands with window functions (portable: DuckDB and Spark): a period starts a new
    island when it begins after every earlier period of the person has ended.
    """
    c = custody.select(
        person=custody.person_id.cast("string"),
        s=custody.start_date.cast("timestamp"),
        e=ibis.coalesce(custody.end_date.cast("timestamp"), FOREVER),
    )
    upto = ibis.window(group_by=c.person, order_by=[c.s, c.e], preceding=None, following=0)
    c = c.mutate(reach=c.e.max().over(upto))  # latest end among this and earlier periods
    order = ibis.window(group_by=c.person, order_by=[c.s, c.e])
    c = c.mutate(prev_reach=c.reach.lag().over(order))
    c = c.mutate(new=(c.prev_reach.isnull() | (c.s > c.prev_reach)).cast("int64"))
    c = c.mutate(island=c.new.sum().over(upto))
    return c.group_by(["person", "island"]).aggregate(s=c.s.min(), e=c.e.max())


def _released(i: ibis.Table, custody: ibis.Table, snapshots: ibis.Table, lookback_days: int):
    """(person_id, as_of) pairs qualifying only because custody time is not counted."""
    m = merged_custody(custody)
    rec = i.recorded_at.cast("timestamp")
    old = i.select(pid=i.perpetrator_id.cast("string"), r=rec, iid=i.incident_id)
    # people with custody first (few), then the dates: never all old incidents x all dates
    om = old.join(m, [old.pid == m.person, m.e > old.r])
    j = snapshots.join(
        om, [om.r < snapshots.as_of - ibis.interval(days=lookback_days), om.s < snapshots.as_of]
    )
    # overlap of [r, T) with the merged period [s, min(e, T)), in seconds
    end = ibis.least(j.e, j.as_of)
    start = ibis.greatest(j.s, j.r)
    overlap = end.epoch_seconds() - start.epoch_seconds()
    per_incident = j.group_by(["pid", "as_of", "iid", "r"]).aggregate(held=overlap.sum())
    p = per_incident
    liberty = p.as_of.epoch_seconds() - p.r.epoch_seconds() - p.held
    ok = p.filter(liberty <= lookback_days * DAY)
    return ok.select(person_id=ok.pid, as_of=ok.as_of)


def population(
    incidents: ibis.Table, persons: ibis.Table, snapshots: ibis.Table, lookback_days: int,
    custody: ibis.Table | None = None,
) -> ibis.Table:
    """(rid, person_id, as_of, birth_date) for every snapshot date in ``snapshots.as_of``."""
    i = incidents.filter(incidents.domestic.fill_null(False))
    rec = i.recorded_at.cast("timestamp")
    j = snapshots.join(
        i, [rec < snapshots.as_of, rec >= snapshots.as_of - ibis.interval(days=lookback_days)]
    )
    pairs = j.select(person_id=j.perpetrator_id.cast("string"), as_of=j.as_of)
    if custody is not None:
        pairs = ibis.union(pairs, _released(i, custody, snapshots, lookback_days), distinct=False)
    pairs = pairs.distinct()
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
