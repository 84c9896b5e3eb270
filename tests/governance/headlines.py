"""Recompute the pack's headline numbers from a run folder's files and assert the pack shows them.

Why a shared checker: the issue's complaints were figures that disagree (a recall curve at ~0.6
beside a table at 0.2, a fairness "(all)" row at 0.6 beside a table at 0.52, "2.0% of those
scored" for a cohort that is 4.0%). Each check here recomputes a number straight from the files
(pandas only, no governance code) and looks for it in the HTML; the unit test and the end-to-end
test both call it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

PROPORTIONS = ("recall", "precision", "harm", "top_share_recall", "ece")


def pct(p: float) -> str:
    """The documented percentage rule: 52%, 4.0%, 0.35%, 0.012%."""
    a = abs(100 * p)
    digits = (0 if round(a) >= 10 or a == 0 else 1 if round(a, 1) >= 1 else
              2 if round(a, 2) >= 0.1 else 3)
    return f"{100 * p:.{digits}f}%"


def shared_recall(score: np.ndarray, y: np.ndarray, k: int) -> float:
    """Recall of the top k with a tied group at the cut-off counted for the share that fits."""
    s = pd.Series(np.where(np.isnan(score), -np.inf, score))
    above = s.rank(ascending=False, method="min") - 1
    tied = s.map(s.value_counts())
    sel = ((k - above) / tied).clip(0, 1)
    return float((sel * y).sum() / y.sum())


def table_row(html: str, name: str) -> list[str]:
    """Cell texts (before any interval) of the first table row whose first cell is ``name``."""
    m = re.search(rf"<tr[^>]*><td>{re.escape(name)}(?: <span[^>]*>[^<]*</span>)?</td>(.*?)</tr>",
                  html, re.S)
    assert m, f"no table row {name!r}"
    return [re.split(r"<br>", c)[0].strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                 m.group(1), re.S)]


def check_headlines(run_dir: Path, html: str, names: dict[str, str] | None = None) -> int:
    """Assert every headline number of ``run_dir`` appears in ``html``; return how many."""
    from riskcohort import display

    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    scores = pd.read_csv(run_dir / "scores.csv", dtype={"person_id": str})
    ev = pd.read_parquet(run_dir / "evaluation.parquet")
    ev["person_id"] = ev["person_id"].astype(str)
    k = int(manifest["k"])
    checked = 0

    # 1. the cohort's share of the people scored, as the first page says it
    n = len(scores)
    in_cohort = scores["in_cohort"].astype(str).str.lower().isin(["true", "1"])
    assert f"top {in_cohort.sum():,} ({pct(in_cohort.sum() / n)} of {n:,} scored)" in html
    checked += 1

    # 2. the performance table shows metrics.json's values, system by system
    systems = metrics["scores"]
    columns = sorted(systems, key=lambda s: (s == "oracle", s != "model",
                                             list(display.SYSTEMS).index(s)
                                             if s in display.SYSTEMS else 99, s))
    info = metrics.get("incumbent") or {}
    if info and "incumbent" not in systems:
        columns = sorted([*columns, "incumbent"], key=lambda s: (
            s == "oracle", s != "model",
            list(display.SYSTEMS).index(s) if s in display.SYSTEMS else 99, s))
    for metric in systems["model"]:
        cells = table_row(html, display.metric_name(metric))
        for system, cell in zip(columns, cells, strict=True):
            entry = systems.get(system, {}).get(metric)
            if system == "incumbent" and (not systems.get("incumbent") or not info.get("coverage")):
                assert cell == "no scores", (metric, cell)
                continue
            if entry is None or entry["value"] is None or not np.isfinite(entry["value"]):
                assert cell == "-", (metric, system, cell)
                continue
            v = float(entry["value"])
            base = metric.partition("@")[0]
            want = pct(v) if base in PROPORTIONS else display.number(v, 2 if base ==
                                                                       "homicides" else 3)
            assert cell == want, (metric, system, cell, want)
            checked += 1

    # 3. the recall curves equal the table at every k (ties shared as in metrics.json)
    from riskcohort.governance.plots import at_k

    y = ev["serious_harm"].to_numpy(float)
    rank = ev[["person_id"]].merge(scores[["person_id", "rank"]], how="left")["rank"]
    for system in systems:
        if system not in ev:
            continue
        for kk in metrics.get("ks") or [k]:
            want = systems[system][f"recall@{kk}"]["value"]
            if system == "model":  # ordered by its margin = its rank (true ties share one)
                got = shared_recall(-rank.to_numpy(float), y, kk)
                tb = -rank.to_numpy(float)
            else:
                got = shared_recall(ev[system].to_numpy(float), y, kk)
                tb = None
            assert abs(got - want) < 1e-9, (system, kk, got, want)
            drawn = at_k(ev[system].to_numpy(float), y, [kk], tb)[1][0]
            assert abs(drawn - want) < 1e-9, (system, kk, drawn, want)
            checked += 2

    # 4. the fairness "(all)" row is the performance table's model recall at k
    fair = json.loads((run_dir / "fairness.json").read_text())
    overall = next(r for r in fair["audit"] if r["group"] == "(all)" and r["metric"] == "recall")
    if in_cohort.sum() == k:
        assert abs(overall["value"] - systems["model"][f"recall@{k}"]["value"]) < 1e-9
        checked += 1
    assert pct(overall["value"]) in table_row(html, "(all)"), table_row(html, "(all)")
    checked += 1

    # 5. observed / expected, overall
    ratio = y.sum() / ev["model"].sum()
    assert f"observed / expected = {display.number(ratio, 2)}" in html
    checked += 1

    # 6. no absolute path of this machine anywhere in the pack
    data_dir = (run_dir / manifest["data_dir"]).resolve() if manifest.get("data_dir") else None
    for path in (run_dir.resolve(), data_dir, Path(os.getcwd()).resolve()):
        if path is not None and str(path) != "/":
            assert str(path) not in html, path
    return checked
