"""``check``: measure a dataset against ten published stylized facts of domestic abuse.

Why: a synthetic force is only useful if it reproduces what is known about the real thing (who
causes the harm, how rare homicide is, how weak DASH is, which signals raise risk). Each row names
its source and target; ``pass`` is True when the measured value's 95% sampling interval (shown as
``interval``) meets the published range (interval overlap; on small presets counts are tiny and
the intervals wide). Panel facts use person-clustered bootstrap intervals, because the panel
repeats people across as-of dates; a ratio with an empty cell has an unbounded interval. Figures
and sources: ``docs/synthetic-force.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.simulate import panel as pn
from riskcohort.simulate.stats import cluster_bootstrap, poisson_ci, ratio_ci, wilson

NEAR_MISS = ("gbh", "gbh_with_intent", "attempted_murder")
INF = float("inf")


def _row(fact, source, target, lo, hi, value, interval=None, detail=""):
    ci_lo, ci_hi = interval if interval is not None else (value, value)
    # interval overlap: the published range is met when the 95% interval reaches into it
    ok = bool((np.isfinite(value) and lo <= value <= hi) or (ci_lo <= hi and ci_hi >= lo))
    return {"fact": fact, "source": source, "target": target, "measured": value,
            "interval": f"{ci_lo:.3g}-{ci_hi:.3g}", "detail": detail, "pass": ok}


def _concentration(data: pn.Data, rng) -> tuple[float, tuple, float]:
    """Barnham et al.'s design: perpetrators of a DA incident in a base year, followed up for
    two years after their first (index) incident there. Returns the share of the follow-up
    crime harm caused by the top 3% of that cohort (with a bootstrap interval) and the share of
    the cohort with no further recorded crime."""
    da = data.da
    b0 = data.end - pd.DateOffset(years=3)
    base = da[(da["occurred_at"] >= b0) & (da["occurred_at"] < b0 + pd.DateOffset(years=1))]
    first = base.groupby("perpetrator_id")["occurred_at"].min().rename("first")
    inc = data.incidents.merge(first, left_on="perpetrator_id", right_index=True)
    later = inc[(inc["occurred_at"] > inc["first"]) &
                (inc["occurred_at"] <= inc["first"] + pd.DateOffset(years=2)) &
                (inc["offence"] != "non_crime")]
    no_further = 1 - later["perpetrator_id"].nunique() / max(len(first), 1)
    dl = later[later["domestic"]]
    per = dl.assign(h=dl["offence"].map(pn._harm_weights()).fillna(0)).groupby(
        "perpetrator_id")["h"].sum()
    h = np.zeros(len(first))
    h[: len(per)] = per.to_numpy()

    def share(x):
        x = np.sort(x)[::-1]
        k = max(1, int(round(0.03 * len(x))))
        return x[:k].sum() / max(x.sum(), 1e-9)

    boot = [share(rng.choice(h, len(h))) for _ in range(200)]
    return share(h), tuple(np.percentile(boot, [2.5, 97.5])), no_further


def _no_prior(data: pn.Data) -> tuple[int, int]:
    """Deadly/near-deadly DA incidents with no earlier recorded DA between the same pair."""
    da = data.da
    dead = da[da["offence"].isin(["homicide", "attempted_murder", "gbh_with_intent"])]
    pairs = dead[["incident_id", "perpetrator_id", "victim_id", "occurred_at"]].merge(
        da[["perpetrator_id", "victim_id", "recorded_at", "incident_id"]].rename(
            columns={"incident_id": "other"}), on=["perpetrator_id", "victim_id"])
    prior = pairs[(pairs["other"] != pairs["incident_id"]) &
                  (pairs["recorded_at"] < pairs["occurred_at"])]["incident_id"].unique()
    return int((~dead["incident_id"].isin(prior)).sum()), len(dead)


def _separation(data: pn.Data) -> tuple[float, tuple]:
    """Serious-harm rate in the 6 months after a recorded intimate separation vs other time."""
    rel, da = data.relationships, data.da
    if rel is None:
        return float("nan"), (float("nan"),) * 2
    intimate = rel[(rel["kind"] == "intimate")]
    perp_of = da.dropna(subset=["relationship_id"]).drop_duplicates("relationship_id")[
        ["relationship_id", "perpetrator_id"]]
    ends = intimate.dropna(subset=["end_date"]).merge(perp_of, on="relationship_id")
    perps = perp_of[perp_of["relationship_id"].isin(intimate["relationship_id"])]
    first = da[da["perpetrator_id"].isin(perps["perpetrator_id"])].groupby(
        "perpetrator_id")["recorded_at"].min()
    window = pd.Timedelta(days=182)
    ends = ends.merge(first.rename("first"), left_on="perpetrator_id", right_index=True)
    post_start = ends[["end_date", "first"]].max(axis=1)
    post_end = (ends["end_date"] + window).clip(upper=data.end)
    post_days = float(np.clip((post_end - post_start).dt.days, 0, None).sum())
    total_days = float((data.end - first).dt.days.sum())
    sh = da[da["offence"].isin(pn.SERIOUS_HARM_OFFENCES) & da["perpetrator_id"].isin(first.index)]
    sh = sh.merge(first.rename("first"), left_on="perpetrator_id", right_index=True)
    sh = sh[sh["occurred_at"] > sh["first"]]
    m = sh[["incident_id", "perpetrator_id", "occurred_at"]].merge(
        ends[["perpetrator_id", "end_date"]], on="perpetrator_id")
    post_ids = m[(m["occurred_at"] > m["end_date"]) &
                 (m["occurred_at"] <= m["end_date"] + window)]["incident_id"].unique()
    a = len(post_ids)
    b = len(sh) - a
    rr = (a / max(post_days, 1)) / (max(b, 1e-9) / max(total_days - post_days, 1))
    return rr, ratio_ci(rr, [a, b])


def check(data_dir: str | Path, preset: str | None = None) -> pd.DataFrame:
    """The stylized-fact table (fact, source, target, measured, interval, detail, pass)."""
    data = pn.Data(data_dir)
    rng = np.random.default_rng(0)
    p = pn.panel(data)
    y = p["serious_harm"].to_numpy()
    rows = []
    share, ci, no_further = _concentration(data, rng)
    rows.append(_row("1 harm concentrated: share of 2-year follow-up DA crime harm by top 3%",
                     "Barnham, Barnes & Sherman 2017 (90%)", "> 0.5 (most)", 0.5, 1.0, share, ci,
                     f"no further crime in 2y: {no_further:.1%} (source 77.6%)"))
    crimes = data.da[data.da["offence"] != "non_crime"]
    n_crime = len(crimes)
    nm = int(crimes["offence"].isin(NEAR_MISS).sum())
    hom = int((crimes["offence"] == "homicide").sum())
    rows.append(_row("2 near-miss offences / recorded DA crime", "domain notes; issue",
                     "0.01-0.03", 0.01, 0.03, nm / n_crime, wilson(nm, n_crime),
                     f"{nm} near misses, {hom} homicides (homicide << near miss: "
                     f"{hom < 0.1 * nm})"))
    lo, hi = poisson_ci(hom)
    rows.append(_row("3 DA homicides per recorded DA crime (x 10,000)",
                     "E&W, Essex volumes (domain notes)", "1-2 per 10,000", 1.0, 2.0,
                     1e4 * hom / n_crime, (1e4 * lo / n_crime, 1e4 * hi / n_crime),
                     f"{hom} homicides / {n_crime:,} DA crimes"))
    k, n = _no_prior(data)
    rows.append(_row("4 deadly/near-deadly DA with no earlier recorded DA between the pair",
                     "Thornton 2011 (55%); Chalkley & Strang 2017 (37%)", "0.35-0.60",
                     0.35, 0.60, k / max(n, 1), wilson(k, n), f"{k} of {n} homicides, attempted "
                     "murders and gbh with intent"))
    a_dash = pn.auc(y, p["dash_high_12m"])
    rows.append(_row("5a DASH/DARA high grade in last year: AUC for serious harm next year",
                     "Turner et al. 2019; Caulfield 2023 (0.60-0.67)", "0.55-0.70", 0.55, 0.70,
                     a_dash, _binary_auc_ci(p, y)))
    rows.append(_high_not_followed(data))
    rows.append(_odds_row(p, y))
    rr, rr_ci = _separation(data)
    rows.append(_row("7 serious-harm rate ratio, 6 months after separation vs other time",
                     "Campbell et al. 2003; Monckton-Smith 2020", ">= 2", 2.0, INF, rr, rr_ci))
    rows.append(_suicide_row(p, y))
    rows.append(_demography(data))
    late = float(((data.incidents["recorded_at"] - data.incidents["occurred_at"])
                  > pd.Timedelta(days=30)).mean())
    rows.append(_row("10 incidents recorded > 30 days after occurring", "issue", ">= 0.05",
                     0.05, 1.0, late))
    rows.append(_oracle_row(p, y))
    return pd.DataFrame(rows)


def _auc_ci(a, y):
    """Hanley-McNeil 95% interval of an AUC."""
    n1, n0 = int(np.sum(y)), int(len(y) - np.sum(y))
    if not np.isfinite(a) or n1 == 0:
        return (float("nan"), float("nan"))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    return (a - 1.96 * se, a + 1.96 * se)


def _high_not_followed(data: pn.Data):
    ra, da = data.assessments, data.da
    hi = ra[(ra["grade"] == "high") & (ra["assessed_at"] < data.end - pd.Timedelta(days=365))]
    sh = da[da["offence"].isin(pn.SERIOUS_HARM_OFFENCES)][["perpetrator_id", "occurred_at"]]
    m = hi[["assessment_id", "perpetrator_id", "assessed_at"]].merge(sh, on="perpetrator_id")
    fol = m[(m["occurred_at"] >= m["assessed_at"]) &
            (m["occurred_at"] < m["assessed_at"] + pd.Timedelta(days=365))]
    k = len(hi) - fol["assessment_id"].nunique()
    return _row("5b high gradings NOT followed by serious harm within a year",
                "Chalkley & Strang 2017 (99%)", "> 0.90", 0.90, 1.0, k / max(len(hi), 1),
                wilson(k, len(hi)), f"{len(hi):,} high gradings")


def _cells(p, y, col):
    """Per-row 2x2 cells (flag x outcome) of a binary panel column, for clustered intervals."""
    x = p[col].to_numpy(bool)
    y = np.asarray(y) == 1
    return np.column_stack([x & y, x & ~y, ~x & y, ~x & ~y]).astype(np.int8)


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _or(s):
    return _div(s[:, 0] * s[:, 3], s[:, 1] * s[:, 2])


def _rr(s):
    return _div(_div(s[:, 0], s[:, 0] + s[:, 2]), _div(s[:, 1], s[:, 1] + s[:, 3]))


def _bin_auc(s):
    tpr, fpr = _div(s[:, 0], s[:, 0] + s[:, 2]), _div(s[:, 1], s[:, 1] + s[:, 3])
    return 0.5 * (1 + tpr - fpr)  # AUC of a yes/no score (ties count one half)


def _clustered(p, y, col, stat, ratio=True):
    """Statistic and person-clustered interval; a ratio with an empty cell is not estimable
    (every resample is 0 or infinite), so its interval is unbounded, as Woolf's would be."""
    cells = _cells(p, y, col)
    total = cells.sum(axis=0, dtype=np.int64)
    value = stat(total[None, :].astype(float))[0]
    if ratio and total.min() == 0:
        return value, (0.0, INF)
    return value, cluster_bootstrap(p["person_id"].to_numpy(), cells, stat)


def _binary_auc_ci(p, y):
    return _clustered(p.assign(_x=p["dash_high_12m"] > 0), y, "_x", _bin_auc, ratio=False)[1]


def _odds_row(p, y):
    orr, ci = _clustered(p, y, "strangulation", _or)
    x = p["strangulation"].to_numpy(bool)
    return _row("6 odds ratio of serious harm next year, prior strangulation recorded",
                "Glass et al. 2008 (OR 6.7-7.5)", "5-8", 5.0, 8.0, float(orr), ci,
                f"prior strangulation in {x.mean():.1%}")


def _suicide_row(p, y):
    rr, ci = _clustered(p, y, "suicide_marker", _rr)
    s = _cells(p, y, "suicide_marker").sum(axis=0)
    return _row("8 suicide/self-harm marker: prevalence ratio, serious-harm vs other",
                "Bridger et al. 2017 (5.6% vs 1.7% = 3.3x)", "2.2-4.5", 2.2, 4.5, float(rr), ci,
                f"{s[0] / max(s[0] + s[2], 1):.1%} vs {s[1] / max(s[1] + s[3], 1):.1%}")


def _demography(data: pn.Data):
    perps = data.persons[data.persons["person_id"].isin(data.da["perpetrator_id"])]
    male = float((perps["sex"] == "male").mean())
    rel = data.relationships
    kinds = data.da.merge(rel[["relationship_id", "kind"]], on="relationship_id")["kind"]
    fam = float((kinds != "intimate").mean())
    ok = 0.75 <= male <= 0.85 and 0.20 <= fam <= 0.40
    row = _row("9 perpetrators male; familial share of DA incidents",
               "ONS DA statistics; Essex (domain notes)", "male 0.75-0.85; familial 0.20-0.40",
               0.75, 0.85, male, detail=f"familial {fam:.1%}")
    row["pass"] = ok
    return row


def _oracle_row(p, y):
    if "p_serious_harm" not in p:
        return _row("oracle: AUC of true risk (_truth) for serious harm next year", "generator",
                    ">= 0.80 and >= best rule + 0.10", 0.8, 1.0, float("nan"))
    a = pn.auc(y, p["p_serious_harm"].fillna(0))
    rules = {k: pn.auc(y, p[k]) for k in ("dash_high_12m", "da_count_365d", "harm_365d")}
    best = max(rules.values())
    row = _row("oracle: AUC of true risk (_truth) for serious harm next year", "generator",
               ">= 0.80 and >= best rule + 0.10", max(0.8, best + 0.1), 1.0, a,
               _auc_ci(a, y), "rules: " + ", ".join(f"{k} {v:.3f}" for k, v in rules.items()))
    return row


def render(table: pd.DataFrame):
    """A Rich table of the check (for the CLI)."""
    from rich.table import Table

    t = Table(title="Stylized facts of the synthetic force")
    for c in ("fact", "source", "target", "measured", "interval", "pass"):
        t.add_column(c, overflow="fold")
    for r in table.to_dict("records"):
        mark = "[green]pass[/]" if r["pass"] else "[red]FAIL[/]"
        measured = f"{r['measured']:.4g}" + (f" ({r['detail']})" if r["detail"] else "")
        t.add_row(r["fact"], r["source"], r["target"], measured, r["interval"], mark)
    return t
