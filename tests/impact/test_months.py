"""riskcohort impact: the ranking chosen per month and the sharp-months restriction.

A fixture force where the team, in its early months, picked on something the extract does not
hold (a hidden trait that also drives harm, as when its rule read history from before the
extract) and, later, sharply on the incumbent's score. The sharp restriction must keep the later
months and cover 1 on a placebo; all months together are biased towards harm. Fast: the
point-in-time snapshot is replaced by the fixture's scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.impact.fixture_force import fixture_dataset, quarter_records

from riskcohort.errors import UserError
from riskcohort.impact import estimate, months, selection

T = pd.Timestamp
MONTHS = ("2021-01-01", "2021-04-01", "2021-07-01", "2021-10-01", "2022-01-01", "2022-04-01")


def _force(effect: float, seed: int, hidden: int, ranking=None, n=2000, k=150):
    """Each quarter ``n`` candidates; the team picks its top ``k``. In the first ``hidden``
    quarters it ranks on the incumbent's score plus a hidden trait (not in the snapshot) that
    raises harm; afterwards on ``ranking[q]`` (a snapshot column, default the incumbent) exactly."""
    rng = np.random.default_rng(seed)
    snaps, ivs, incs = [], [], []
    for q, m in enumerate(MONTHS):
        start = T(m)
        s, other, h = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
        cols = {"incumbent": s, "matac_rfgv": other}
        team = s + 2.0 * h if q < hidden else cols[(ranking or {}).get(q, "incumbent")]
        picked = np.zeros(n, bool)
        picked[np.argsort(-team)[:k]] = True
        p = 1 / (1 + np.exp(-(-2.6 + 0.8 * s + 0.9 * h))) * np.where(picked, 1 - effect, 1.0)
        harm = rng.random(n) < p
        pid = np.array([f"P{q}_{i}" for i in range(n)])
        snaps.append(pd.DataFrame({"person_id": pid, "as_of": start, **cols}))
        iv, inc = quarter_records(pid, start, picked, harm, rng)
        ivs.append(iv)
        incs.append(inc)
    ds = fixture_dataset(ivs, incs)
    return ds, pd.concat(snaps, ignore_index=True)


def _run(fake_snapshot, effect, seed, hidden, **kw):
    ds, fake_snapshot["snap"] = _force(effect, seed, hidden, **kw.pop("force", {}))
    return estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", n_boot=100, **kw)


def test_sharp_months_kept_and_placebo_covers_one(fake_snapshot):
    r = _run(fake_snapshot, 0.0, seed=11, hidden=3)
    used = r["months_used"]
    assert used["used"] == "sharp" and used["fallback"] is None, used
    assert used["kept"] == ["2021-10-01", "2022-01-01", "2022-04-01"], used
    by = r["selection"]["by_month"]
    assert [m["sharp"] for m in by] == [False] * 3 + [True] * 3
    assert all(m["agreement"] < months.SHARP_AGREEMENT for m in by[:3]), by
    assert all(m["agreement"] == 1.0 and m["ranking"] == "incumbent" for m in by[3:]), by
    assert r["n_managed"] == 450  # the three sharp months' picks, all in the region
    assert r["lo"] <= 1 <= r["hi"], r
    every = r["checks"]["all_months"]
    # the hidden selection of the early months biases the all-months estimate towards harm
    assert every["months"] == 6 and every["n_managed"] > r["n_managed"]
    assert every["relative_risk"] > r["relative_risk"] and every["lo"] > 1, every


def test_sharp_months_find_a_real_effect(fake_snapshot):
    r = _run(fake_snapshot, 0.6, seed=12, hidden=3)
    assert r["months_used"]["used"] == "sharp"
    assert r["hi"] < 1, r


def test_too_few_sharp_picks_falls_back_to_all_months(fake_snapshot):
    r = _run(fake_snapshot, 0.0, seed=13, hidden=5)  # one sharp month: 150 < 200 managed
    used = r["months_used"]
    assert used["used"] == "all" and used["kept"] == r["months"], used
    assert used["sharp_months_managed"] == 150 < months.MIN_SHARP_MANAGED
    assert "minimum" in used["fallback"], used
    assert any(w.startswith("All months are used") for w in r["warnings"]), r["warnings"]
    every = r["checks"]["all_months"]
    assert (every["relative_risk"], every["n_managed"]) == (r["relative_risk"], r["n_managed"])


def test_months_all_keeps_every_month_without_warning(fake_snapshot):
    r = _run(fake_snapshot, 0.0, seed=11, hidden=3, months="all")
    assert r["months_used"]["used"] == "all" and r["months_used"]["fallback"] is None
    assert r["months_used"]["left_out"] == []
    assert not any(w.startswith("All months are used") for w in r["warnings"])
    assert r["relative_risk"] == r["checks"]["all_months"]["relative_risk"]


def test_ranking_is_chosen_per_month_and_json_keys(fake_snapshot):
    # months 1-3 cut on the incumbent, months 4-6 on another named score
    ranking = {3: "matac_rfgv", 4: "matac_rfgv", 5: "matac_rfgv"}
    r = _run(fake_snapshot, 0.0, seed=14, hidden=0, force={"ranking": ranking})
    assert set(r) >= {"relative_risk", "lo", "hi", "n_managed", "n_comparison", "method",
                      "assumptions", "warnings", "selection", "checks", "months_used"}
    by = r["selection"]["by_month"]
    assert [m["month"] for m in by] == list(MONTHS)
    assert all(set(m) >= {"month", "ranking", "agreement", "n_picks"} for m in by)
    assert [m["ranking"] for m in by] == ["incumbent"] * 3 + ["matac_rfgv"] * 3, by
    assert [m["n_picks"] for m in by] == [150] * 6
    assert all(m["agreement"] == 1.0 for m in by)
    assert r["selection"]["score"] == "incumbent (3 months) and matac_rfgv (3 months)"
    # pooled over all months, each named ranking holds only its own half of the picks
    assert r["selection"]["agreement"]["incumbent"] < 0.6
    assert r["n_managed"] == 900 and r["lo"] <= 1 <= r["hi"], r
    assert set(r["checks"]["all_months"]) >= {"relative_risk", "lo", "hi", "n_managed",
                                              "n_comparison", "months"}


def test_month_rules():
    by = [{"month": "2021-01-01", "agreement": 0.79, "n_picks": 100},
          {"month": "2021-04-01", "agreement": 0.8, "n_picks": 50},
          {"month": "2021-07-01", "agreement": 0.95, "n_picks": 50}]
    assert months.sharp_months(by) == ["2021-04-01", "2021-07-01"]
    assert months.pooled_agreement(by, ["2021-04-01", "2021-07-01"]) == pytest.approx(0.875)
    assert months.decide("sharp", by, 250, True) == ("sharp", None)
    assert months.decide("all", by, 250, True) == ("all", None)
    assert months.decide("sharp", by, 199, True)[0] == "all"
    assert months.decide("sharp", by, 250, False)[0] == "all"
    assert "fuzzy in every month" in months.decide("sharp", by[:1], 0, False)[1]
    month = np.array([T("2021-01-01"), T("2021-04-01"), T("2021-07-01")])
    assert months.rows_in(month, ["2021-04-01"]).tolist() == [False, True, False]
    assert selection.label([{"ranking": "learned"}] * 2) == "learned"
    assert selection.label([{"ranking": r} for r in ("learned", "learned", "incumbent",
                                                     "dash_dara")]) == \
        "learned (2 months), incumbent (1 month) and dash_dara (1 month)"


def test_cli_writes_the_estimate_and_says_which_months(fake_snapshot, monkeypatch, tmp_path):
    import json

    from typer.testing import CliRunner

    from riskcohort.cli import app

    ds, fake_snapshot["snap"] = _force(0.0, seed=11, hidden=3)
    monkeypatch.setattr(estimate, "_dataset", lambda data: ds)
    out = tmp_path / "impact.json"
    res = CliRunner().invoke(app, ["impact", str(tmp_path), "--from", "2021-01-01", "--to",
                                   "2022-06-30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "months: sharp (3 of 6 kept)" in res.output, res.output
    assert "all months: " in res.output
    r = json.loads(out.read_text())
    assert r["months_used"]["kept"] == ["2021-10-01", "2022-01-01", "2022-04-01"]
    assert len(r["selection"]["by_month"]) == 6 and "all_months" in r["checks"]


def test_unknown_months_mode(fake_snapshot, tmp_path):
    ds, fake_snapshot["snap"] = _force(0.0, seed=3, hidden=0)
    with pytest.raises(UserError, match="months_mode"):
        estimate.estimate_impact(ds, "2021-01-01", "2022-06-30", months="fuzzy")
    from typer.testing import CliRunner

    from riskcohort.cli import app

    res = CliRunner().invoke(app, ["impact", str(tmp_path), "--from", "2021-01-01", "--to",
                                   "2022-01-01", "--months", "fuzzy", "--out",
                                   str(tmp_path / "i.json")])
    assert res.exit_code == 2, res.output
    assert "months_mode" in res.output and "Traceback" not in res.output
