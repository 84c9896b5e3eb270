"""A synthetic run folder (scores, features, explanations, evidence, metrics) for tests, the load
benchmark and trying the app without training a model.

Why here and not in tests: the benchmark needs a force-sized folder (~60k people) and the tests a
small one, built the same way. Values are random but internally consistent: each score is the
logistic of base value + contributions, ranks follow scores, count indicators have as many
evidence records as their value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort import runfolder
from riskcohort.runfolder import layout as L

INDICATORS = ("da_count_365d", "da_count_3y", "harm_365d", "distinct_victims_3y",
              "dash_high_12m", "gravity_max_3y", "days_since_last_da",
              "days_since_last_high_grade", "breach_count_365d", "weapon_flag_3y")
COUNTS = {"da_count_365d": 1.2, "da_count_3y": 3.0, "distinct_victims_3y": 0.6,
          "breach_count_365d": 0.4}
BANDS = (("very high", 0.01), ("high", 0.05), ("medium", 0.20), ("low", 1.0))


def _features(rng, n: int) -> pd.DataFrame:
    cols = {name: rng.poisson(lam, n).astype(float) for name, lam in COUNTS.items()}
    cols["da_count_3y"] = cols["da_count_3y"] + cols["da_count_365d"]
    cols["harm_365d"] = np.round(rng.gamma(0.6, 40.0, n) * (cols["da_count_365d"] > 0), 1)
    cols["dash_high_12m"] = (rng.random(n) < 0.08).astype(float)
    cols["gravity_max_3y"] = rng.integers(0, 7, n).astype(float)
    cols["days_since_last_da"] = rng.integers(1, 1800, n).astype(float)
    cols["days_since_last_high_grade"] = np.where(rng.random(n) < 0.1, np.nan,
                                                  rng.integers(1, 1800, n).astype(float))
    cols["weapon_flag_3y"] = (rng.random(n) < 0.05).astype(float)
    return pd.DataFrame({k: cols[k] for k in INDICATORS})


def build_run(out: str | Path, n: int = 300, seed: int = 0, as_of: str = "2026-01-01",
              k: int = 50, report: bool = True, drift: int = 0) -> Path:
    """Publish a run folder of ``n`` people (replacing ``out``); ``drift`` perturbs a later
    iteration's features. The governance report and fairness table are attachments."""
    out = Path(out)
    with runfolder.RunWriter(out, overwrite=True) as writer:
        _write_run(writer, n, seed, as_of, k, drift)
    if report:
        runfolder.attach(out, L.REPORT_HTML, lambda p: p.write_text(
            "<!doctype html><title>Governance pack</title><h1>Model card (synthetic)</h1>"
            "<p>Intended use: prioritise review.</p>", encoding="utf-8"))
        runfolder.attach(out, "fairness.csv", lambda p: p.write_text(
            "group,value,n,recall_at_100\nsex,female,40,0.40\nsex,male,260,0.43\n",
            encoding="utf-8"))
    return out


def _write_run(writer, n: int, seed: int, as_of: str, k: int, drift: int) -> None:
    rng = np.random.default_rng(seed)
    feats = _features(np.random.default_rng(1234), n)  # same people across iterations
    if drift:
        feats["da_count_365d"] += rng.poisson(0.5, n)
    ids = [f"P{i:06d}" for i in range(n)]
    weights = np.array([0.35, 0.1, 0.01, 0.3, 0.9, 0.15, -0.0008, -0.0004, 0.4, 0.8])
    x = feats.fillna(feats.median()).to_numpy()
    contrib = (x - x.mean(axis=0)) * weights
    base = -2.4
    margin = base + contrib.sum(axis=1) + rng.normal(0, 0.05, n)
    score = 1 / (1 + np.exp(-margin))
    rank = pd.Series(score).rank(ascending=False, method="first").astype(int).to_numpy()
    band = np.full(n, BANDS[-1][0], dtype=object)
    for name, frac in reversed(BANDS[:-1]):
        band[rank <= max(1, int(round(frac * n)))] = name
    date = pd.Timestamp(as_of)
    held = rng.random(n) < 0.08  # custody on the scoring date, and past releases
    released = np.where(~held & (rng.random(n) < 0.15), rng.integers(1, 1500, n), -1)
    scores = pd.DataFrame({"person_id": ids, "as_of": as_of, "score": score.round(6),
                           "rank": rank, "in_cohort": rank <= k, "band": band, "tied": False,
                           "in_custody": held, "days_since_custody_release": pd.array(
                               [int(d) if d >= 0 else None for d in released], dtype="Int64")})
    writer.write_frame(L.SCORES, scores.sort_values("rank"))
    writer.write_frame(L.FEATURES, feats.assign(person_id=ids, as_of=date)[
        ["person_id", "as_of", *INDICATORS]])
    long = pd.DataFrame({
        "person_id": np.repeat(ids, len(INDICATORS)), "as_of": date,
        "indicator": np.tile(INDICATORS, n), "value": feats.to_numpy().ravel(),
        "contribution": contrib.ravel()})
    writer.write_explanations(long, runfolder.ExplanationSummary(
        base_value=base, link="logit", expected_probability=float(1 / (1 + np.exp(-base))),
        base_probability=float(1 / (1 + np.exp(-base)))))
    ev = [{"person_id": pid, "indicator": ind, "table": "incidents", "record_id": f"I{i}-{j}",
           "recorded_at": (date - dt.timedelta(days=30 * j + 3)).isoformat(), "kind": "domestic",
           "victim_id": f"V{i % 97}"}
          for i, pid in enumerate(ids) if rank[i] <= 2 * k for ind in COUNTS
          for j in range(int(feats.at[i, ind]))]
    writer.write_frame(L.EVIDENCE, pd.DataFrame(ev))
    iv = lambda v, w: {"value": v, "lo": v - w, "hi": v + w}  # noqa: E731
    writer.write_metrics(runfolder.Metrics(
        backtest=False, n=n, positives=int(n * 0.05), ks=[50, 100, 200],
        scores={"model": {"roc_auc": iv(0.81, 0.02), "recall@100": iv(0.42, 0.05)},
                   "dash": {"roc_auc": iv(0.66, 0.03), "recall@100": iv(0.21, 0.04)},
                   "rfgv": {"roc_auc": iv(0.70, 0.03), "recall@100": iv(0.27, 0.04)}},
        differences={"dash": {"roc_auc": iv(0.15, 0.03)}, "rfgv": {"roc_auc": iv(0.11, 0.03)}},
        cautions=["synthetic numbers: for testing the app only"]))
    writer.write_json("notes.json", {"synthetic": True})
    writer.publish(runfolder.Manifest(experiment="synthetic", as_of=as_of, k=k, seed=seed,
                                      features=list(INDICATORS), backtest=False,
                                      created_at=as_of + "T06:00:00Z"))


def build_history(out: str | Path, n: int = 300, iterations: int = 2, k: int = 50) -> Path:
    """Several monthly iterations of the same population under ``out``/<as_of>/."""
    out = Path(out)
    for i in range(iterations):
        as_of = f"2026-{i + 1:02d}-01"
        build_run(out / as_of, n=n, seed=i, as_of=as_of, k=k, drift=i)
    return out
