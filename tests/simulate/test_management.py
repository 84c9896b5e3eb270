"""A team that acts: interventions rows, a known effect, a placebo that changes nothing, and an
incumbent that scores every month."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES, TABLES
from riskcohort.errors import UserError
from riskcohort.simulate import baseline, simulate
from riskcohort.simulate.block import simulate_block
from riskcohort.simulate.presets import get_preset

COLUMNS = ["intervention_id", "person_id", "kind", "start_date", "end_date", "recorded_at",
           "end_recorded_at"]


@pytest.fixture(scope="module")
def unmanaged(tmp_path_factory):
    out = tmp_path_factory.mktemp("unmanaged")
    simulate(out, preset="tiny", seed=6, clean=True)
    return out


def _read_dates(path):
    f = pd.read_parquet(path)
    for c in ("start_date", "end_date"):
        f[c] = pd.to_datetime(f[c])
    return f


def _managed(tmp_path, effect, **kw):
    out = tmp_path / f"managed-{effect}"
    simulate(out, preset="tiny", seed=6, clean=True, managed=25, intervention_effect=effect, **kw)
    return out


def test_placebo_team_records_management_and_changes_nothing(unmanaged, tmp_path):
    out = _managed(tmp_path, 0.0)
    for name in TABLES:
        if name == "interventions":
            continue
        a = pd.read_parquet(unmanaged / f"{name}.parquet")
        b = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b, obj=name)
    pd.testing.assert_frame_equal(pd.read_parquet(unmanaged / "_truth" / "risk.parquet"),
                                  pd.read_parquet(out / "_truth" / "risk.parquet"))
    iv = _read_dates(out / "interventions.parquet")
    assert list(iv.columns) == COLUMNS
    assert len(iv) > 25 and (iv["kind"] == "dapst_managed").all()
    assert iv["intervention_id"].is_unique
    assert iv["person_id"].isin(pd.read_parquet(out / "persons.parquet")["person_id"]).all()
    assert (iv["start_date"].dt.day == 1).all()
    assert (iv["recorded_at"] >= iv["start_date"]).all()
    ended = iv.dropna(subset=["end_date"])
    assert ((ended["end_date"] - ended["start_date"]).dt.days >= 150).all()  # 6 months or death
    assert (ended["end_recorded_at"] >= ended["end_date"]).all()
    assert iv["end_date"].isna().sum() > 0  # the last quarters' periods are still open
    scen = json.loads((out / "_truth" / "scenario.json").read_text())
    assert scen["management"]["effect"] == 0.0 and scen["management"]["managed_per_quarter"] == 25
    truth = pd.read_parquet(out / "_truth" / "interventions.parquet")
    assert len(truth) >= len(iv) and truth["end_date"].notna().all()


def _harm_while_managed(folder) -> tuple[int, int]:
    """Serious-harm incidents occurring inside a true management period, and in total."""
    inc = pd.read_parquet(folder / "incidents.parquet")
    sh = inc[inc["offence"].isin(SERIOUS_HARM_OFFENCES) & inc["domestic"]]
    per = _read_dates(folder / "_truth" / "interventions.parquet")
    m = sh.merge(per, left_on="perpetrator_id", right_on="person_id")
    inside = m[(m["occurred_at"] >= m["start_date"]) & (m["occurred_at"] < m["end_date"])]
    return inside["incident_id"].nunique(), len(sh)


def test_full_effect_prevents_all_serious_harm_while_managed(unmanaged, tmp_path):
    placebo = _managed(tmp_path, 0.0)
    full = _managed(tmp_path, 1.0)
    k0, _ = _harm_while_managed(placebo)
    k1, _ = _harm_while_managed(full)
    assert k0 > 0  # the team picks people who do go on to serious harm
    assert k1 == 0
    again = _managed(tmp_path / "again", 1.0)
    pd.testing.assert_frame_equal(pd.read_parquet(full / "interventions.parquet"),
                                  pd.read_parquet(again / "interventions.parquet"))


def test_bad_management_options(tmp_path):
    with pytest.raises(UserError, match="intervention-effect"):
        simulate(tmp_path, preset="tiny", managed=10, intervention_effect=1.5)
    with pytest.raises(UserError, match="managed"):
        simulate(tmp_path, preset="tiny", managed=-1)


def test_vectorised_ilas_equals_the_reference_points():
    t, _ = simulate_block(get_preset("tiny"), 2100, 0, 3)
    dates = baseline.as_of_dates()
    fast = baseline.ilas(t, np.random.default_rng(0), dates)
    dead = t["persons"].set_index("person_id")["death_date"]
    for d in (dates[12], dates[-1]):
        ref = baseline.ilas_points(t, d)
        died = dead.reindex(ref["person_id"]).to_numpy()
        ref = ref[~(pd.notna(died) & (died < np.datetime64(d)))]
        m = ref.merge(fast[fast["as_of"] == d], on="person_id", how="outer", indicator=True)
        assert (m["_merge"] != "right_only").all()
        both = m[m["_merge"] == "both"]
        assert len(both) > 0.85 * len(ref)  # ~8% never matched by the incumbent
        np.testing.assert_array_equal(both["score_x"], both["score_y"])


def test_ilas_scores_every_month_start_of_the_last_three_years(tmp_path):
    simulate(tmp_path, preset="tiny", seed=1, clean=True)
    base = pd.read_csv(tmp_path / "baseline_scores.csv", parse_dates=["as_of"])
    months = pd.date_range("2024-10-01", "2026-09-01", freq="MS")
    assert set(months) <= set(base["as_of"])
    assert (base.groupby("as_of")["in_cohort"].sum() <= 100).all()


def test_managed_csv_passes_the_contract_validator_strictly(tmp_path):
    from riskcohort.contract import load_dataset

    simulate(tmp_path, preset="tiny", seed=2, fmt="csv", clean=True, managed=15,
             intervention_effect=0.3, intervention_tail=3)
    header = (tmp_path / "interventions.csv").read_text().splitlines()[0].split(",")
    assert header == COLUMNS
    ds = load_dataset(tmp_path, strict=True)  # raises if any row is quarantined
    assert len(ds.tables.get("interventions", [])) > 15


def test_cli_scenario_and_team_options(tmp_path):
    from typer.testing import CliRunner

    from riskcohort.cli import app

    out = tmp_path / "d"
    res = CliRunner().invoke(app, ["simulate", "--out", str(out), "--preset", "tiny",
                                   "--scenario", "self-exciting", "--managed", "10",
                                   "--intervention-effect", "0.5", "--seed", "3"])
    assert res.exit_code == 0, res.output
    scen = json.loads((out / "_truth" / "scenario.json").read_text())
    assert scen["scenario"]["name"] == "self-exciting"
    assert scen["management"]["hazard_multiplier_while_managed"] == 0.5
    assert (out / "interventions.parquet").exists()
    bad = CliRunner().invoke(app, ["simulate", "--out", str(out), "--scenario", "utopia"])
    assert bad.exit_code == 2 and "known_scenario" in bad.output
