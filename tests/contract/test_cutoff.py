"""The dataset "as police knew it" on a date, checked against the point-in-time rules.

If cutting the data at T and building indicators at T gave anything different from building them
at T on the full data, either the cut keeps something police could not know, or the pipeline uses
something it should not: both would be leakage.
"""

from __future__ import annotations

import pandas as pd
import pytest

from riskcohort import features
from riskcohort.contract import load_dataset
from riskcohort.contract.cutoff import cut_dataset, cut_table
from riskcohort.simulate import simulate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("cut")
    simulate(root / "full", preset="tiny", seed=11, clean=True)
    return root


def test_indicators_at_the_cutoff_equal_those_on_the_full_data(tiny):
    full = load_dataset(tiny / "full")
    end = full.tables["incidents"]["recorded_at"].max()
    cutoff = (end - pd.Timedelta(days=200)).normalize()
    cut = load_dataset(cut_dataset(tiny / "full", tiny / "cut", cutoff))
    a = features.build(full, as_of=[cutoff]).sort_values("person_id").reset_index(drop=True)
    b = features.build(cut, as_of=[cutoff]).sort_values("person_id").reset_index(drop=True)
    assert len(a) > 50
    pd.testing.assert_frame_equal(a, b, check_like=True)
    # ... and the cut really removed later records (so the test could fail).
    assert len(cut.tables["incidents"]) < len(full.tables["incidents"])
    assert cut.tables["incidents"]["recorded_at"].max() < cutoff


def test_cut_never_modifies_the_source(tiny):
    before = {p.name: p.stat().st_mtime_ns for p in (tiny / "full").iterdir() if p.is_file()}
    cut_dataset(tiny / "full", tiny / "cut2", "2024-01-01")
    after = {p.name: p.stat().st_mtime_ns for p in (tiny / "full").iterdir() if p.is_file()}
    assert before == after


def test_later_learned_facts_are_blanked_not_dropped():
    rel = pd.DataFrame({
        "relationship_id": ["r1", "r2"], "recorded_at": ["2020-01-01", "2020-01-01"],
        "end_date": ["2023-12-01", "2023-06-01"],
        "end_recorded_at": ["2024-03-01", "2023-07-01"],
    })
    out = cut_table("relationships", rel, pd.Timestamp("2024-01-01"))
    assert out["relationship_id"].tolist() == ["r1", "r2"]
    assert out["end_date"].isna().tolist() == [True, False]  # r1's end was learned later
    persons = pd.DataFrame({"person_id": ["a", "b"], "death_date": ["2024-05-01", "2023-01-01"]})
    assert cut_table("persons", persons, pd.Timestamp("2024-01-01"))["death_date"].isna().tolist() \
        == [True, False]


def test_unparseable_known_at_rows_are_kept_for_the_validator():
    inc = pd.DataFrame({"incident_id": ["a", "b"], "recorded_at": ["not a date", "2030-01-01"]})
    assert cut_table("incidents", inc, pd.Timestamp("2024-01-01"))["incident_id"].tolist() == ["a"]


def test_interventions_cut_by_recorded_at_and_end_by_end_recorded_at():
    iv = pd.DataFrame({
        "intervention_id": ["n1", "n2", "n3"],
        "recorded_at": ["2023-01-01", "2023-01-01", "2024-02-01"],  # n3 recorded after the cut
        "end_date": ["2023-12-01", "2023-06-01", None],
        "end_recorded_at": ["2024-01-05", "2023-06-02", None],  # n1's end learned later
    })
    out = cut_table("interventions", iv, pd.Timestamp("2024-01-01"))
    assert out["intervention_id"].tolist() == ["n1", "n2"]
    assert out["end_date"].isna().tolist() == [True, False]
    assert out["end_recorded_at"].isna().tolist() == [True, False]
