"""A small run folder built from scratch (no other stage needed), with a dataset and an oracle.

Why synthetic here: the governance pack must be testable on its own; the numbers in the fixture
are drawn from a seeded generator so every test recomputes what it checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ETHNICITIES = ["white", "black", "asian", "mixed", "other", "unknown"]
ETH_P = [0.62, 0.14, 0.14, 0.05, 0.03, 0.02]


def make_people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true = np.clip(rng.beta(0.6, 9, n), 0.001, 0.95)
    return pd.DataFrame({
        "person_id": [f"P{i:05d}" for i in range(n)],
        "ethnicity": rng.choice(ETHNICITIES, n, p=ETH_P),
        "sex": rng.choice(["male", "female", "unknown"], n, p=[0.8, 0.19, 0.01]),
        "birth_date": pd.Timestamp("1995-01-01")
        - pd.to_timedelta(rng.integers(0, 365 * 45, n), unit="D"),
        "true": true,
        "serious_harm": (rng.random(n) < true).astype(int),
        "noise": rng.normal(0, 0.6, n),
        "noise_b": rng.normal(0, 1.2, n),
    })


def write_run(root: Path, n: int = 800, seed: int = 1, as_of: str = "2024-01-01",
              name: str = "run", k: int = 100, shift: float = 0.0, outcomes: bool = True,
              **manifest) -> Path:
    """Write data/ (persons, incidents, baseline_scores, _truth) and publish a run folder
    (``outcomes=False``: no evaluation.parquet, no metrics.json; ``manifest``: extra run.json
    fields, e.g. ``previous_run``); return it."""
    from riskcohort import runfolder
    from riskcohort.runfolder import layout as L

    people = make_people(n, seed)
    logit = np.log(people["true"] / (1 - people["true"]))
    score = 1 / (1 + np.exp(-(logit + people["noise"] + shift)))
    baseline = logit + people["noise_b"]
    data = root / f"data_{name}"
    (data / "_truth").mkdir(parents=True, exist_ok=True)
    people[["person_id", "birth_date", "sex", "ethnicity"]].assign(death_date=pd.NaT) \
        .to_parquet(data / "persons.parquet", index=False)
    pd.DataFrame({"incident_id": ["I1", "I2"], "occurred_at": ["2020-01-01", "2023-05-01"],
                  "recorded_at": ["2020-01-02", "2023-05-02"], "perpetrator_id": ["P00000"] * 2,
                  "domestic": ["true", "true"], "offence": ["abh", "gbh"]}) \
        .to_csv(data / "incidents.csv", index=False)
    pd.DataFrame({"person_id": people["person_id"], "as_of": as_of, "score": baseline,
                  "system": "ILAS"}).to_csv(data / "baseline_scores.csv", index=False)
    month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    pd.DataFrame({"person_id": people["person_id"], "month_start": month,
                  "p_serious_harm": people["true"]}).to_parquet(data / "_truth" / "risk.parquet")
    run = root / name
    writer = runfolder.RunWriter(run, overwrite=True)
    rank = score.rank(ascending=False, method="first").astype(int)
    writer.write_frame(L.SCORES, pd.DataFrame({
        "person_id": people["person_id"], "as_of": as_of, "score": score, "rank": rank,
        "in_cohort": rank <= k, "band": np.where(rank <= k, "cohort", "other")}))
    if outcomes:
        writer.write_frame(L.EVALUATION, pd.DataFrame({
            "person_id": people["person_id"], "as_of": pd.Timestamp(as_of),
            "serious_harm": people["serious_harm"], "homicide": 0,
            "harm_weight": people["serious_harm"] * 100.0, "model": score, "ilas": baseline}))
    writer.write_frame(L.FEATURES, pd.DataFrame({
        "person_id": people["person_id"], "as_of": pd.Timestamp(as_of),
        "da_count_365d": np.round(people["true"] * 20 + shift * 3),
        "days_since_last_da": people["noise_b"].abs() * 100}))

    def entry(v):
        return {"value": v, "lo": v - 0.05, "hi": v + 0.05}

    if outcomes:
        writer.write_metrics(runfolder.Metrics(
            backtest=True, n=n, positives=int(people["serious_harm"].sum()),
            scores={"model": {"roc_auc": entry(0.75), "recall@100": entry(0.3)},
                    "ilas": {"roc_auc": entry(0.65), "recall@100": entry(0.2)}},
            differences={"ilas": {"roc_auc": entry(0.1)}}))
    writer.write_json(L.VALIDATION_REPORT, {"quarantined": 3})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["a", "b"], [2, 1])
    fig.savefig(writer.path(f"{L.PLOTS_DIR}/importance.png"))
    plt.close(fig)
    fields = {"experiment": "fixture", "as_of": as_of, "data_dir": f"../{data.name}", "k": k,
              "horizon_days": 365, "seed": 0, "fingerprint": "abc123",
              "absent_sources": ["custody"], "features": ["da_count_365d", "days_since_last_da"],
              "backtest": outcomes}
    return writer.publish(runfolder.Manifest(**{**fields, **manifest}))


def check_fairness_json(run_dir: Path) -> int:
    """Recompute every audit number in RUN_DIR/fairness.json straight from the run folder's
    files with pandas (no fairlearn, no riskcohort code but age banding); return how many
    values were compared. Flags are re-derived from the documented rule."""
    from riskcohort.governance.protected import age_band

    data = json.loads((run_dir / "fairness.json").read_text())
    manifest = json.loads((run_dir / "run.json").read_text())
    scores = pd.read_csv(run_dir / "scores.csv", dtype={"person_id": str})
    ev = pd.read_parquet(run_dir / "evaluation.parquet")
    ev["person_id"] = ev["person_id"].astype(str)
    manifest["data_dir"] = str(run_dir / manifest["data_dir"])  # stored relative to the run
    persons = pd.read_parquet(Path(manifest["data_dir"]) / "persons.parquet")
    persons["person_id"] = persons["person_id"].astype(str)
    f = scores.merge(ev[["person_id", "serious_harm"]], how="left") \
        .merge(persons, on="person_id", how="left")
    f["age_band"] = age_band(f["birth_date"], pd.Timestamp(manifest["as_of"]))
    th = data["thresholds"]
    checked = 0
    for r in data["audit"]:
        d = f if r["group"] == "(all)" else f[f[r["attribute"]].fillna("unknown") == r["group"]]
        sel = d["in_cohort"].astype(str).str.lower().isin(["true", "1"])
        y = d["serious_harm"] == 1
        want = {"selection_rate": sel.mean(), "observed": y.mean(),
                "predicted": d["score"].mean(), "calibration": y.sum() / d["score"].sum(),
                "recall": (sel & y).sum() / y.sum() if y.sum() else None,
                "false_positive_rate": (sel & ~y).sum() / (~y).sum() if (~y).sum() else None,
                "precision": (sel & y).sum() / sel.sum() if sel.sum() else None}[r["metric"]]
        assert r["members"] == len(d) and r["positives"] == int(y.sum()), r
        if want is None:
            assert r["value"] is None, r
        else:
            assert abs(r["value"] - want) <= 1e-9 * max(1.0, abs(want)), (r, want)
            checked += 1
        small = len(d) < th["min_members"] or (
            r["metric"] not in ("selection_rate", "predicted") and y.sum() < th["min_positives"])
        assert r["small"] == (small and r["group"] != "(all)"), r
    flagged = {(r["attribute"], r["group"], r["metric"]) for r in data["flags"]}
    want_flags = {(r["attribute"], r["group"], r["metric"]) for r in data["audit"]
                  if not r["small"] and r["group"] != "(all)" and r["ratio"] is not None
                  and r["metric"] not in ("observed", "predicted")
                  and not th["flag_low"] <= r["ratio"] <= th["flag_high"]}
    assert flagged == want_flags
    return checked + check_by_system(data, f, ev, manifest)


def check_by_system(data: dict, f: pd.DataFrame, ev: pd.DataFrame, manifest: dict) -> int:
    """Recompute the by-system equal-risk rows: top-k shares (ties shared), 20 strata of true
    risk, expected = members x stratum rate; return how many values were compared."""
    rows = data["equal_risk_by_system"] or []
    if "oracle" in ev and ev["oracle"].notna().any():
        risk = ev[["person_id", "oracle"]].rename(columns={"oracle": "true_risk"})
    else:
        truth = pd.read_parquet(Path(manifest["data_dir"]) / "_truth" / "risk.parquet")
        truth["person_id"] = truth["person_id"].astype(str)
        starts = pd.to_datetime(truth["month_start"])
        month = pd.Timestamp(manifest["as_of"]).to_period("M").to_timestamp()
        risk = truth[starts == starts[starts <= month].max()][["person_id", "p_serious_harm"]] \
            .rename(columns={"p_serious_harm": "true_risk"})
    systems = {r["system"] for r in rows}
    f = f.merge(risk.drop_duplicates("person_id"), on="person_id", how="left").merge(
        ev[["person_id", *sorted(systems - {"model"})]].drop_duplicates("person_id"),
        on="person_id", how="left")
    f = f[f["true_risk"].notna()].copy() if len(rows) else f
    f["stratum"] = pd.qcut(f["true_risk"].rank(method="first"), 20, labels=False)
    checked = 0
    for r in rows:
        s = f["score" if r["system"] == "model" else r["system"]].astype(float).fillna(-np.inf)
        above = s.rank(ascending=False, method="min") - 1  # people with a strictly higher score
        tied = s.map(s.value_counts())
        f["sel"] = np.where(np.isneginf(s), 0.0, ((r["cohort"] - above) / tied).clip(0, 1))
        rate = f.groupby("stratum")["sel"].transform("mean")
        g = f[r["attribute"]].fillna("unknown") == r["group"]
        want = {"members": g.sum(), "selected": f.loc[g, "sel"].sum(),
                "expected": rate[g].sum()}
        want["ratio"] = want["selected"] / want["expected"] if want["expected"] else np.nan
        for key, value in want.items():
            if r[key] is None:  # NaN in JSON: a group with nobody expected
                assert not np.isfinite(value), (r, key, value)
            else:
                assert abs(r[key] - value) <= 1e-6 * max(1.0, abs(value)), (r, key, value)
            checked += 1
    return checked
