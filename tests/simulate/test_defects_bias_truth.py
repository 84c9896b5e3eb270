"""Injected defects are counted exactly; measurement bias leaves true risk unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from riskcohort.contract.schema import OFFENCES, SERIOUS_HARM_OFFENCES
from riskcohort.simulate import simulate


def _read(folder, name):
    return pd.read_parquet(folder / f"{name}.parquet")


def test_defect_counts_match_the_data(tiny, tiny_clean):
    for (folder, _), dirty in ((tiny, True), (tiny_clean, False)):
        counts = json.loads((folder / "_truth" / "defects.json").read_text())["counts"]
        inc = _read(folder, "incidents")
        persons = set(_read(folder, "persons")["person_id"])
        got = {
            "duplicate_row": int(inc["incident_id"].duplicated().sum()),
            "recorded_before_occurred": int((inc["recorded_at"] < inc["occurred_at"]).sum()),
            "unknown_enum": int((~inc["offence"].isin(OFFENCES)).sum()),
            "dangling_person": int((inc["victim_id"].notna() & ~inc["victim_id"].isin(persons))
                                   .sum()),
            "missing_required": int(inc["perpetrator_id"].isna().sum()),
        }
        want = counts.get("incidents", dict.fromkeys(got, 0))
        assert got == want
        assert (sum(got.values()) > 0) == dirty
        ra = _read(folder, "risk_assessments")
        n_bad = int((~ra["grade"].isin(["standard", "medium", "high"])).sum())
        assert n_bad == counts.get("risk_assessments", {}).get("unknown_enum", 0)


def test_defect_rate_is_low(tiny):
    folder, summary = tiny
    total = sum(sum(d.values()) for d in summary["defects"].values())
    rows = sum(summary["rows"].values())
    assert 0.001 < total / rows < 0.01


def test_bias_raises_recording_for_the_group_only_and_keeps_true_risk(tiny_clean, tmp_path):
    folder, _ = tiny_clean
    simulate(tmp_path, preset="tiny", seed=3, clean=True, bias_group="black", bias_rate=0.5)
    eth = pd.concat([_read(folder, "persons"), _read(tmp_path, "persons")]).drop_duplicates(
        "person_id").set_index("person_id")["ethnicity"]

    def counts(f):
        inc = _read(f, "incidents")
        inc = inc[inc["domestic"] & ~inc["offence"].isin(SERIOUS_HARM_OFFENCES)]
        return inc.groupby(inc["perpetrator_id"].map(eth) == "black").size()

    def people(f):
        inc = _read(f, "incidents")
        return set(inc.loc[inc["perpetrator_id"].map(eth) == "black", "perpetrator_id"])

    base, biased = counts(folder), counts(tmp_path)
    assert biased[True] > 1.1 * base[True]
    assert biased[False] == base[False]
    # the bias inflates the histories of people already known; it never makes a first record
    # (a few people first recorded in the burn-in years may enter the window through it)
    before, after = people(folder), people(tmp_path)
    assert before <= after and len(after - before) <= 0.05 * len(before)
    t0 = pd.read_parquet(folder / "_truth" / "risk.parquet")
    t1 = pd.read_parquet(tmp_path / "_truth" / "risk.parquet")
    both = t0.merge(t1, on=["person_id", "month_start"])
    assert len(both) == len(t0)
    np.testing.assert_array_equal(both["p_serious_harm_x"], both["p_serious_harm_y"])


def test_truth_is_a_probability_on_month_starts(tiny):
    folder, _ = tiny
    t = pd.read_parquet(folder / "_truth" / "risk.parquet")
    assert t["p_serious_harm"].between(0, 1).all()
    assert (pd.to_datetime(t["month_start"]).dt.day == 1).all()
    assert t.duplicated(["person_id", "month_start"]).sum() == 0
