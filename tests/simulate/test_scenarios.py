"""Scenarios change the mechanism (not just the seed) and every one keeps the stylized facts."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.simulate import check, simulate
from riskcohort.simulate.scenarios import SCENARIOS


@pytest.mark.slow  # ~5 s each on an idle machine, 15-30 s on the shared one
@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_stylized_facts_hold_in_every_scenario(scenario, seed, tmp_path):
    simulate(tmp_path, preset="small", seed=seed, scenario=scenario)
    table = check(tmp_path)
    failed = table.loc[~table["pass"], ["fact", "measured", "interval"]]
    assert failed.empty, failed.to_string()


def _digest(folder, names):
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _truth(folder):
    t = pd.read_parquet(folder / "_truth" / "risk.parquet")
    t["month_start"] = pd.to_datetime(t["month_start"]).astype("datetime64[ns]")
    return t


def test_scenarios_change_the_world_not_the_format(tmp_path):
    a, b = tmp_path / "default", tmp_path / "latent"
    simulate(a, preset="tiny", seed=2, clean=True)
    simulate(b, preset="tiny", seed=2, clean=True, scenario="latent-trait")
    ta, tb = _truth(a), _truth(b)
    both = ta.merge(tb, on=["person_id", "month_start"])
    assert not np.allclose(both["p_serious_harm_x"], both["p_serious_harm_y"])
    for name in ("persons", "incidents", "risk_assessments"):
        assert list(pd.read_parquet(a / f"{name}.parquet").columns) == \
            list(pd.read_parquet(b / f"{name}.parquet").columns)


def _frightened_lift(folder) -> float:
    """Mean true risk of perpetrators assessed 'frightened' over those assessed 'not'."""
    ra = pd.read_parquet(folder / "risk_assessments.parquet").dropna(subset=["q_frightened"])
    ra["month_start"] = (pd.to_datetime(ra["assessed_at"]).dt.to_period("M").dt.start_time
                         .astype("datetime64[ns]"))
    m = ra.rename(columns={"perpetrator_id": "person_id"}).merge(_truth(folder),
                                                                on=["person_id", "month_start"])
    g = m.groupby("q_frightened")["p_serious_harm"].mean()
    return float(g[True] / g[False])


def test_dash_informative_vs_noise(tmp_path):
    lifts = {}
    for sc in ("dash-informative", "dash-noise"):
        simulate(tmp_path / sc, preset="tiny", seed=1, clean=True, scenario=sc)
        lifts[sc] = _frightened_lift(tmp_path / sc)
    assert lifts["dash-informative"] > 1.5
    assert 0.8 < lifts["dash-noise"] < 1.25, lifts


def test_biased_scenario_is_the_bias_option(tmp_path):
    simulate(tmp_path / "a", preset="tiny", seed=4, scenario="biased")
    simulate(tmp_path / "b", preset="tiny", seed=4, bias_group="black", bias_rate=0.3)
    names = ["incidents.parquet", "_truth/risk.parquet", "baseline_scores.csv"]
    assert _digest(tmp_path / "a", names) == _digest(tmp_path / "b", names)


def test_unknown_scenario_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="scenario"):
        simulate(tmp_path, preset="tiny", scenario="utopia")
