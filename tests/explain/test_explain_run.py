"""explain_run: the long explanations file, the summary JSON and the plots."""

from __future__ import annotations

import html
import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.explain.labels import indicator_labels, readable_name
from riskcohort.explain.plots import _wrap
from riskcohort.explain.run import explain_run


@pytest.fixture(scope="module")
def explained(run_dir):
    summary = explain_run(run_dir)
    return run_dir, summary


def test_long_file_has_everyone_and_adds_up_to_the_margin(explained, indicators):
    run_dir, summary = explained
    long = pd.read_parquet(run_dir / "explanations.parquet")
    feats = pd.read_parquet(run_dir / "features.parquet")
    assert list(long.columns) == ["person_id", "as_of", "indicator", "value", "contribution"]
    assert len(long) == len(feats) * len(indicators)
    assert set(long["person_id"]) == set(feats["person_id"])
    booster = lgb.Booster(model_file=str(run_dir / "model" / "model.txt"))
    margin = pd.Series(booster.predict(feats[indicators], raw_score=True),
                       index=feats["person_id"])
    sums = long.groupby("person_id")["contribution"].sum() + summary["base_value"]
    np.testing.assert_allclose(sums.loc[margin.index], margin, atol=1e-6)


def test_long_values_are_the_scored_values(explained):
    run_dir, _ = explained
    long = pd.read_parquet(run_dir / "explanations.parquet")
    feats = pd.read_parquet(run_dir / "features.parquet").set_index("person_id")
    sample = long[long["indicator"] == "harm_365d"].set_index("person_id")["value"]
    pd.testing.assert_series_equal(sample, feats.loc[sample.index, "harm_365d"],
                                   check_names=False)


def test_summary_json_states_link_base_and_average(explained):
    run_dir, summary = explained
    on_disk = json.loads((run_dir / "explanations.json").read_text())
    scores = pd.read_csv(run_dir / "scores.csv")
    assert on_disk["link"] == "logit"
    assert on_disk["base_value"] == pytest.approx(summary["base_value"])
    assert on_disk["expected_probability"] == pytest.approx(scores["score"].mean())
    base_p = 1 / (1 + np.exp(-(0.8 * summary["base_value"] - 0.3)))  # the fixture's Platt map
    assert on_disk["base_probability"] == pytest.approx(base_p)
    assert on_disk["calibration"]["kind"] == "platt"
    assert on_disk["score_max_abs_diff"] < 1e-9
    assert any("log-odds" in n for n in on_disk["notes"])
    assert any("markers" in n for n in on_disk["notes"])  # absent source from run.json


def test_plots_written_as_png_and_svg_with_text_labels(explained, indicators):
    run_dir, summary = explained
    labels = indicator_labels(indicators)
    for stem in ("importance", "beeswarm"):
        assert (run_dir / "plots" / f"{stem}.png").stat().st_size > 1000
        svg = (run_dir / "plots" / f"{stem}.svg").read_text()
        for name in indicators:  # readable labels (catalogue descriptions), kept as SVG text
            first_line = _wrap(readable_name(labels[name])).splitlines()[0]
            assert html.escape(first_line, quote=False) in svg, name
    assert sum(p.startswith("plots/dependence_") for p in summary["plots"]) == 6
    assert not list(run_dir.glob("**/*.tmp"))


def test_missing_run_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no run.json"):
        explain_run(tmp_path)


def test_a_run_with_nobody_scored_still_writes_its_files(tmp_path, build_run):
    run = build_run(tmp_path, n=50, empty=True)
    summary = explain_run(run)
    assert summary["n_people"] == 0 and np.isfinite(summary["base_value"])
    assert len(pd.read_parquet(run / "explanations.parquet")) == 0


def test_chunked_explanations_equal_the_whole_population(build_run, tmp_path, monkeypatch):
    """A population larger than a chunk (national: 2.3 M people) is explained and written a
    chunk at a time; the file and the summary equal the whole-population ones (issue 22.1)."""
    from riskcohort.explain import run as explain_mod

    whole_dir = build_run(tmp_path / "whole", n=250, platt=(0.8, -0.3))
    chunked_dir = build_run(tmp_path / "chunked", n=250, platt=(0.8, -0.3))
    whole = explain_run(whole_dir)
    monkeypatch.setattr(explain_mod, "CHUNK_PEOPLE", 60)
    chunked = explain_run(chunked_dir)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(chunked_dir / "explanations.parquet").num_row_groups >= 5
    a = pd.read_parquet(whole_dir / "explanations.parquet")
    b = pd.read_parquet(chunked_dir / "explanations.parquet")
    pd.testing.assert_frame_equal(a, b)
    for key in ("base_value", "n_people", "additivity_max_error", "plots"):
        assert whole[key] == chunked[key], key
    a_abs, b_abs = whole["mean_abs_contribution"], chunked["mean_abs_contribution"]
    assert list(a_abs) == list(b_abs)
    np.testing.assert_allclose(list(a_abs.values()), list(b_abs.values()), rtol=1e-12)
    svg = (chunked_dir / "plots" / "beeswarm.svg").read_text(encoding="utf-8")
    assert "250 of 250 people shown" in svg
