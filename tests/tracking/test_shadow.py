"""Shadow mode: freeze a cohort of a small synthetic force, refuse to evaluate it early, refuse a
tampered stamp, and evaluate on outcomes recorded after the freeze only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.simulate.api import simulate

runner = CliRunner()
SERIOUS = ["homicide", "attempted_murder", "gbh_with_intent", "gbh"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shadow") / "small"
    simulate(out, preset="small", seed=1)
    return out


def make_run(data: Path, out: Path, as_of: str, k: int = 50) -> Path:
    """A published run folder scoring everyone with a DA incident recorded in the 5 years
    before ``as_of`` by their count of such incidents (a simple rule, not a model)."""
    from riskcohort.runfolder import Manifest, RunWriter

    inc = pd.read_parquet(data / "incidents.parquet")
    t = pd.Timestamp(as_of)
    known = inc[inc.domestic.fillna(False).astype(bool) & (inc.recorded_at < t)
                & (inc.recorded_at >= t - pd.Timedelta(days=1825))]
    score = known.groupby("perpetrator_id").size().sort_values(ascending=False, kind="stable")
    rank = range(1, len(score) + 1)
    scores = pd.DataFrame({"person_id": score.index, "as_of": as_of,
                           "score": score.to_numpy() / 100, "rank": rank,
                           "in_cohort": [r <= k for r in rank], "band": "low"})
    with RunWriter(out) as w:
        w.write_frame("scores.csv", scores)
        w.publish(Manifest(as_of=as_of, horizon_days=365, k=k, serious_offences=SERIOUS,
                           domestic_only=True, experiment="shadow-test"))
    return out


def test_refuses_until_the_window_has_passed(data, tmp_path):
    run = make_run(data, tmp_path / "run", "2026-01-01")
    frozen = tmp_path / "frozen.json"
    result = runner.invoke(app, ["shadow", "freeze", str(run), "--out", str(frozen)])
    assert result.exit_code == 0, result.output
    payload = json.loads(frozen.read_text())
    assert payload["as_of"] == "2026-01-01" and payload["horizon_days"] == 365
    assert len(payload["cohort"]) > 50 and payload["run_manifest"]["experiment"] == "shadow-test"
    result = runner.invoke(app, ["shadow", "evaluate", str(frozen), "--data", str(data)])
    assert result.exit_code == 2
    assert "2027-01-01" in " ".join(result.output.split())  # the date from which it can run
    assert "Traceback" not in result.output


def test_tampered_stamp_is_refused(data, tmp_path):
    run = make_run(data, tmp_path / "run", "2025-01-01")
    frozen = tmp_path / "frozen.json"
    assert runner.invoke(app, ["shadow", "freeze", str(run), "--out", str(frozen)]).exit_code == 0
    payload = json.loads(frozen.read_text())
    payload["cohort"][60]["rank"], payload["cohort"][0]["rank"] = 1, 61  # move someone to the top
    frozen.write_text(json.dumps(payload))
    result = runner.invoke(app, ["shadow", "evaluate", str(frozen), "--data", str(data)])
    assert result.exit_code == 2
    assert "stamp_intact" in result.output and "changed after freezing" in " ".join(
        result.output.split())
    # and a second freeze never overwrites the first stamp
    again = runner.invoke(app, ["shadow", "freeze", str(run), "--out", str(frozen)])
    assert again.exit_code == 2 and "never_overwrite_a_stamp" in again.output


def test_evaluates_outcomes_recorded_after_the_freeze(data, tmp_path):
    from riskcohort.tracking.shadow import freeze

    as_of, frozen_at = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-01")
    run = make_run(data, tmp_path / "run", str(as_of.date()))
    frozen = tmp_path / "frozen.json"
    payload = freeze(run, frozen, frozen_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    out = tmp_path / "result.json"
    result = runner.invoke(app, ["shadow", "evaluate", str(frozen), "--data", str(data),
                                 "--k", "50", "--k", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    res = json.loads(out.read_text())
    # independent count: DA serious harm in [as_of, as_of + 365 d) by a frozen person
    inc = pd.read_parquet(data / "incidents.parquet")
    ranks = {c["person_id"]: c["rank"] for c in payload["cohort"]}
    harm = inc[inc.offence.isin(SERIOUS) & inc.domestic.fillna(False).astype(bool)
               & (inc.occurred_at >= as_of) & (inc.occurred_at < as_of + pd.Timedelta(days=365))
               & inc.perpetrator_id.isin(ranks)]
    after = set(harm[harm.recorded_at > frozen_at].perpetrator_id)
    before_only = set(harm.perpetrator_id) - after
    assert res["positives"] == len(after) > 0
    assert res["excluded_recorded_before_freeze"] == len(before_only)
    by_k = {r["k"]: r for r in res["at_k"]}
    for k in (50, 200):
        hits = sum(ranks[p] <= k for p in after)
        assert by_k[k]["hits"] == hits
        assert by_k[k]["precision"] == pytest.approx(hits / k)
        assert by_k[k]["recall"] == pytest.approx(hits / len(after))
        assert by_k[k]["recall_lo"] <= by_k[k]["recall"] <= by_k[k]["recall_hi"]
    assert res["sha256"] == payload["sha256"]
    assert "top 50:" in result.output
