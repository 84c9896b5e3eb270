"""Rule baselines over a feature frame, incumbent matching and the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcohort.modelling import baselines as bl


def frame():
    return pd.DataFrame({
        "person_id": ["a", "b", "c", "d"],
        "as_of": pd.to_datetime(["2024-01-01"] * 4),
        "dash_high_12m": [1.0, 1.0, 0.0, np.nan],
        "days_since_last_high_grade": [200.0, 10.0, np.nan, np.nan],
        "days_since_last_da": [10.0, 400.0, 100.0, 2000.0],
        "da_count_365d": [2.0, 0.0, 2.0, 0.0],
        "da_count_3y": [3.0, 1.0, 5.0, 0.0],
        "gravity_max_3y": [547.0, 10.0, 182.0, 0.0],
        "distinct_victims_3y": [2.0, 1.0, 1.0, 0.0],
        "harm_365d": [600.0, 0.0, 20.0, 0.0],
    })


class DS:
    def __init__(self, baseline_scores=None, root=None):
        self.baseline_scores, self.root = baseline_scores, root


def test_rules_order_and_tiebreaks():
    out = bl.compute(frame(), DS(), "2024-01-01")
    order = lambda col: list(frame()["person_id"][np.argsort(-out[col].to_numpy())])  # noqa: E731
    # DASH: both graded high; b's grade is more recent, so b first; d unknown ranks last
    assert order("dash_dara")[:2] == ["b", "a"]
    assert np.isnan(out["dash_dara"][3]) or out["dash_dara"][3] < out["dash_dara"][2]
    assert order("v100_harm")[0] == "a"
    # iteration 2: a and c tie on 365d count, c has the larger 3-year count
    assert order("iteration_2")[:2] == ["c", "a"]
    # RFG-V: a = R5 + F3 + G4 + V4 = 16 is top
    assert order("matac_rfgv")[0] == "a"
    assert set(bl.RULE_BASELINES) <= set(out.columns)


def test_rfgv_bands_documented_values():
    r = bl.band(np.array([10.0, 100, 400, 5000, np.nan]), "le",
                bl.RFGV_BANDS["R"][2])
    assert r.tolist() == [5, 3, 1, 0, 0]


def test_incumbent_window_and_coverage():
    bs = pd.DataFrame({
        "person_id": ["a", "a", "b", "c"],
        "as_of": pd.to_datetime(["2023-12-10", "2023-12-20", "2024-01-02", "2023-10-01"]),
        "score": [1.0, 2.0, 9.0, 5.0],
        "system": ["ILAS"] * 4,
    })
    scores, info = bl.incumbent_scores(frame(), bs, "2024-01-01", 31)
    # a: latest within the window; b: dated after as-of (unknown then); c: too old
    assert scores[0] == 2.0 and np.isnan(scores[1]) and np.isnan(scores[2])
    assert info["coverage"] == pytest.approx(0.25) and info["system"] == "ILAS"


def test_oracle_from_truth(tmp_path):
    (tmp_path / "_truth").mkdir()
    pd.DataFrame({"person_id": ["a", "b", "a"],
                  "month_start": pd.to_datetime(["2024-01-01", "2024-01-01", "2023-12-01"]),
                  "p_serious_harm": [0.3, 0.1, 0.9]}).to_parquet(tmp_path / "_truth/risk.parquet")
    out = bl.compute(frame(), DS(root=tmp_path), "2024-01-01")
    assert out["oracle"].tolist()[:2] == [0.3, 0.1]
    assert np.isnan(out["oracle"][2])
    assert "oracle" not in bl.compute(frame(), DS(), "2024-01-01")


def test_absent_sources_give_nan_not_errors():
    f = frame().drop(columns=["dash_high_12m", "days_since_last_high_grade"])
    out = bl.compute(f, None, "2024-01-01")
    assert out["dash_dara"].isna().all()
    assert out["matac_rfgv"].notna().all()


@pytest.mark.parametrize("stored", ["date32", "timestamp[ns]", "timestamp[us]"])
def test_oracle_reads_the_month_of_as_of_only(tmp_path, stored):
    """The month is read with a Parquet filter (a national truth file is 150 M person-months):
    the latest month in (as_of - 31 days, as_of], whatever type the dates are stored as."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskcohort.modelling.baselines import oracle_scores

    months = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 2)
    arrow_type = pa.date32() if stored == "date32" else pa.timestamp(stored[10:12])
    (tmp_path / "_truth").mkdir()
    pq.write_table(pa.table({
        "person_id": ["a", "a", "a", "b", "b", "b"],
        "month_start": pa.array(months.to_pydatetime(), type=pa.timestamp("us")).cast(arrow_type),
        "p_serious_harm": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}), tmp_path / "_truth" / "risk.parquet")
    people = pd.DataFrame({"person_id": ["b", "a", "c"]})
    np.testing.assert_array_equal(oracle_scores(people, tmp_path, "2024-02-15"), [0.5, 0.2, np.nan])
    np.testing.assert_array_equal(oracle_scores(people, tmp_path, "2024-03-01"), [0.6, 0.3, np.nan])
    assert oracle_scores(people, tmp_path, "2025-03-01") is None
