"""Point-in-time properties on random data: what is not known at T cannot move an indicator.

For random T, adding, deleting or changing any record *not* known before T (contract: its
recorded_at / assessed_at / referred_at / start_date, a relationship's or an intervention's
end_recorded_at) leaves
every indicator at T unchanged; changing a record known before T moves the indicators that
depend on it; several snapshots built together equal each built alone.
"""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import riskcohort.features as features
from riskcohort.contract.harm import HARM_WEIGHTS as W
from tests.features.feature_data import random_dataset

START = pd.Timestamp("2019-01-01")
KNOWN = {"incidents": "recorded_at", "relationships": "recorded_at",
         "risk_assessments": "assessed_at", "orders": "recorded_at", "custody": "start_date",
         "markers": "recorded_at", "referrals": "referred_at", "interventions": "recorded_at"}
# No shrinking phase: a build takes ~0.3 s, so shrinking would dominate; failures print inputs.
SETTINGS = dict(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _later(rng, t):
    return (t + pd.Timedelta(hours=int(rng.integers(0, 24 * 400)))).floor("h")


def _scramble(rng, table, row, t):
    """Random new content for a row that stays unknown at T (known column >= T)."""
    row = dict(row)
    pick = lambda vals: vals[int(rng.integers(0, len(vals)))]  # noqa: E731
    known = _later(rng, t)
    if table == "incidents":
        row.update(recorded_at=known, offence=pick(["gbh", "homicide", "abh", "stalking"]),
                   domestic=bool(rng.random() < 0.5), weapon=pick(["knife", None]),
                   occurred_at=known - pd.Timedelta(days=int(rng.integers(0, 800))))
    elif table == "relationships":
        row.update(recorded_at=known, kind=pick(["intimate", "family_sibling"]),
                   cohabiting=bool(rng.random() < 0.5))
    elif table == "risk_assessments":
        row.update(assessed_at=known, grade=pick(["high", "standard"]), q_strangulation=True,
                   q_pregnancy_infant=True)
    elif table == "orders":
        start = (t - pd.Timedelta(days=int(rng.integers(0, 300)))).normalize()
        row.update(recorded_at=known, kind=pick(["dvpo", "bail_conditions"]), start_date=start,
                   end_date=None)
    elif table == "custody":
        row.update(start_date=known.normalize(), end_date=None)
    elif table == "markers":
        row.update(recorded_at=known, kind="suicide_self_harm", expires_at=None)
    elif table == "referrals":
        row.update(referred_at=known, kind="marac", role="perpetrator")
    elif table == "interventions":
        start = (t - pd.Timedelta(days=int(rng.integers(0, 300)))).normalize()
        row.update(recorded_at=known, kind=pick(["dapst_managed", "mappa"]), start_date=start,
                   end_date=None, end_recorded_at=None)
    return row


def _mutate(data, table, action, rng, t):
    data = {k: v.copy() for k, v in data.items()}
    frame = data[table]
    unknown = frame.index[~(frame[KNOWN[table]] < t)]
    if action == "end" and table in ("relationships", "interventions"):
        # an end learned on or after T, moved to before T: still unknown at T
        ends = frame.index[frame["end_recorded_at"] >= t]
        if len(ends):
            i = ends[int(rng.integers(0, len(ends)))]
            frame.loc[i, "end_date"] = t - pd.Timedelta(days=int(rng.integers(0, 300)))
        return data
    if action == "add" or not len(unknown):
        row = _scramble(rng, table, frame.iloc[int(rng.integers(0, len(frame)))], t)
        row[frame.columns[0]] = "new"
        frame = pd.concat([frame, pd.DataFrame([row]).astype(frame.dtypes.to_dict())],
                          ignore_index=True)
    else:
        i = unknown[int(rng.integers(0, len(unknown)))]
        if action == "delete":
            frame = frame.drop(index=i)
        else:
            new = _scramble(rng, table, frame.loc[i], t)
            frame = pd.concat([frame.drop(index=i),
                               pd.DataFrame([new]).astype(frame.dtypes.to_dict())])
    data[table] = frame.reset_index(drop=True)
    return data


@settings(**SETTINGS)
@given(
    seed=st.integers(0, 10**6),
    day=st.integers(400, 6 * 365 - 30),
    table=st.sampled_from(sorted(KNOWN)),
    action=st.sampled_from(["add", "delete", "change", "end"]),
)
def test_records_unknown_at_t_change_nothing(seed, day, table, action):
    rng = np.random.default_rng(seed)
    data = random_dataset(rng)
    t = START + pd.Timedelta(days=day)
    before = features.build(data, [t])
    after = features.build(_mutate(data, table, action, rng, t), [t])
    pd.testing.assert_frame_equal(before, after)


def _known_da(data, t):
    inc = data["incidents"]
    ok = inc["domestic"].fillna(False).astype(bool) & (inc["recorded_at"] < t)
    return inc[ok & (inc["occurred_at"] >= t - pd.Timedelta(days=1095))]


@settings(**SETTINGS)
@given(seed=st.integers(0, 10**6), day=st.integers(400, 6 * 365 - 30), k=st.integers(0, 100))
def test_known_records_move_their_indicators(seed, day, k):
    rng = np.random.default_rng(seed)
    data = random_dataset(rng)
    t = START + pd.Timedelta(days=day)
    base = features.build(data, [t]).set_index("person_id")
    known = _known_da(data, t)
    known = known[known["perpetrator_id"].isin(base.index)]
    if known.empty:
        return
    row = known.iloc[k % len(known)]
    p = row["perpetrator_id"]
    # deleting a known domestic incident in the window lowers da_count_3y by one
    fewer = {**data, "incidents": data["incidents"].drop(index=row.name)}
    after = features.build(fewer, [t]).set_index("person_id")
    if p in after.index:
        assert after.loc[p, "da_count_3y"] == base.loc[p, "da_count_3y"] - 1
    # making it a homicide raises its harm by the weight difference
    inc = data["incidents"].copy()
    inc.loc[row.name, "offence"] = "homicide"
    harder = features.build({**data, "incidents": inc}, [t]).set_index("person_id")
    delta = W["homicide"] - W[row["offence"]]
    assert np.isclose(harder.loc[p, "harm_3y"], base.loc[p, "harm_3y"] + delta)
    assert harder.loc[p, "gravity_max_3y"] == W["homicide"]


@settings(**{**SETTINGS, "max_examples": 5})
@given(seed=st.integers(0, 10**6), d1=st.integers(400, 2000), d2=st.integers(400, 2000))
def test_snapshots_together_equal_each_alone(seed, d1, d2):
    data = random_dataset(np.random.default_rng(seed))
    t1, t2 = START + pd.Timedelta(days=d1), START + pd.Timedelta(days=d2)
    both = features.build(data, [t2, t1])
    alone = pd.concat([features.build(data, [t]) for t in sorted({t1, t2})], ignore_index=True)
    pd.testing.assert_frame_equal(both, alone)
