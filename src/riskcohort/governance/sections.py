"""Build each section of the governance pack from a loaded run folder (data, no HTML).

Why separate from rendering: every number shown is computed here once, so tests can check the
numbers without parsing HTML, and ``fairness.json`` (read by the review app) holds exactly what
the pack shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort import display
from riskcohort.errors import UserError
from riskcohort.governance import drift, equal_risk, fairness, plots
from riskcohort.governance.protected import attach_protected, attach_true_risk, table_path
from riskcohort.runfolder import Manifest, Metrics, open_run, sibling_metrics
from riskcohort.runfolder import RunFolder as Run

ATTRIBUTES = ("ethnicity", "sex", "age_band")
#: evaluation.parquet columns that are not a ranking to audit (the oracle is the truth itself)
NOT_BASELINES = {"person_id", "as_of", "serious_harm", "homicide", "harm_weight", "model",
                 "oracle"}


def audit_frame(run: Run) -> pd.DataFrame:
    """One row per scored person: score, in_cohort, outcome labels if known, protected attributes,
    the oracle's true risk if available and, in a backtest, every baseline's score
    (``score_<name>``; ``attrs["systems"]`` maps each ranking to its column)."""
    ev = run.evaluation
    baselines = [] if ev is None else [c for c in ev if c not in NOT_BASELINES]
    if run.scores is not None:
        f = run.scores[["person_id", "score", "in_cohort"]].copy()
        if ev is not None:
            labels = [c for c in ("serious_harm", "homicide", "harm_weight") if c in ev]
            extra = ev[["person_id", *labels, *baselines]].drop_duplicates("person_id")
            f = f.merge(extra.rename(columns={b: f"score_{b}" for b in baselines}),
                        on="person_id", how="left")
    elif ev is not None and "model" in ev:
        k = int(run.manifest.get("k", 100))
        f = ev.rename(columns={"model": "score", **{b: f"score_{b}" for b in baselines}}).copy()
        f["in_cohort"] = f["score"].rank(ascending=False, method="first") <= k
    else:
        raise ValueError("no scores.csv and no model column in evaluation.parquet")
    f["in_cohort"] = f["in_cohort"].astype(str).str.lower().isin(["true", "1", "1.0", "yes"])
    f = attach_protected(f, run.data_dir, run.as_of)
    f = attach_true_risk(f, run.data_dir, run.as_of, ev)
    f.attrs["systems"] = {"model": "score", **{b: f"score_{b}" for b in baselines}}
    return f


def fairness_section(frame: pd.DataFrame, n_boot: int, seed: int, k: int = 100) -> dict:
    """Audit tables for each protected attribute, their flags and the equal-true-risk checks
    (the model's cohort by every attribute; every ranking at ``k`` and the top 2%)."""
    has_labels = "serious_harm" in frame and frame["serious_harm"].notna().any()
    label = "serious_harm" if has_labels else None
    tables = [fairness.audit(frame, a, label_col=label, n_boot=n_boot, seed=seed)
              for a in ATTRIBUTES if a in frame]
    table = pd.concat(tables, ignore_index=True)
    section = {"table": table, "flags": fairness.flags(table), "has_labels": has_labels,
               "plots": {a: plots.ratio_plot(table[table["attribute"] == a]) for a in ATTRIBUTES},
               "equal_risk": None, "equal_risk_flags": None,
               "by_system": None, "by_system_flags": None, "by_system_summary": None,
               "true_risk_source": frame.attrs.get("true_risk_source")}
    section["by_attr"] = pivot(table, section["flags"])
    section["flag_text"] = flag_sentences(section["flags"])
    if "true_risk" in frame and frame["true_risk"].notna().any():
        er = pd.concat([equal_risk.equal_risk(frame, a, score_col="score") for a in ATTRIBUTES],
                       ignore_index=True)
        section["equal_risk"], section["equal_risk_flags"] = sort_groups(er), equal_risk.flags(er)
        systems = frame.attrs.get("systems") or {"model": "score"}
        unscored = [n for n, c in systems.items() if c not in frame or frame[c].isna().all()]
        scored = {n: c for n, c in systems.items() if n not in unscored}
        bs = equal_risk.by_system(frame, scored, k)
        section["by_system"], section["by_system_flags"] = bs, equal_risk.flags(bs)
        section["by_system_summary"] = system_summary(bs, unscored)
        section["equal_risk_flag_text"] = flag_sentences(section["equal_risk_flags"])
        section["by_system_flag_text"] = flag_sentences(section["by_system_flags"])
    return section


AUDIT_METRICS = {"selection_rate": "Selection into the cohort", "recall": "Recall",
                 "false_positive_rate": "False positive rate", "precision": "Precision",
                 "calibration": "Observed / predicted", "observed": "Observed rate",
                 "predicted": "Mean predicted score"}


def flag_sentences(flags: pd.DataFrame | None) -> list[str]:
    """The flags of the audit tables as sentences with display names (the machine-readable
    ``reason`` stays in fairness.json)."""
    if flags is None or flags.empty:
        return []
    out = []
    for r in flags.itertuples():
        who = f"{display.attribute_name(r.attribute).lower()} “{r.group}”"
        if hasattr(r, "metric"):
            out.append(f"{AUDIT_METRICS.get(r.metric, r.metric)} for {who}: "
                       f"{display.number(r.ratio, 2)} × everyone's (95% interval "
                       f"{display.number(r.ratio_lo, 2)} to {display.number(r.ratio_hi, 2)}), "
                       f"outside {fairness.FLAG_LOW}-{fairness.FLAG_HIGH}.")
        else:
            where = (f"{display.system_name(r.system)}, top {display.number(r.cohort)}: "
                     if hasattr(r, "system") else "")
            out.append(f"{where}{who} selected {display.number(r.ratio, 2)} × as often as "
                       f"people of the same true risk ({display.number(r.selected, 3)} selected, "
                       f"{display.number(r.expected, 3)} expected, p = "
                       f"{display.number(r.p_value, 2)}).")
    return out


def sort_groups(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """Rows by attribute (ethnicity, sex, age band) then groups in their natural order."""
    if table is None or table.empty:
        return table
    attrs = {a: i for i, a in enumerate(ATTRIBUTES)}
    order = {}
    for a, g in table.groupby("attribute"):
        order.update({(a, v): i for i, v in enumerate(display.natural_order(g["group"], a))})
    key = [(attrs.get(a, 9), order[(a, g)]) for a, g in zip(table["attribute"], table["group"],
                                                           strict=True)]
    out = table.iloc[sorted(range(len(table)), key=key.__getitem__)].reset_index(drop=True)
    out.attrs = table.attrs
    return out


def system_summary(table: pd.DataFrame, unscored=()) -> dict:
    """{(attribute, group): {system: row at the widest cut-off}} for the report's compact view."""
    if table is None or table.empty:
        return {"cohort": None, "systems": [], "rows": [], "unscored": [], "names": {}}
    widest = table["cohort"].max()
    t = table[table["cohort"] == widest]
    systems = _system_order([*t["system"], *unscored])
    rows = []
    for attribute, ga in t.groupby("attribute", sort=False):
        for group in display.natural_order(ga["group"], attribute):
            g = ga[ga["group"] == group]
            rows.append({"attribute": display.attribute_name(attribute), "group": group,
                         "cells": {r["system"]: r for r in g.to_dict("records")}})
    return {"cohort": int(widest), "systems": systems, "rows": rows, "unscored": list(unscored),
            "names": {x: display.system_name(x) for x in systems}}


def pivot(table: pd.DataFrame, flagged: pd.DataFrame) -> dict:
    """{attribute: {group: {metric: row dict + 'flag'}}} for the report's tables."""
    keys = {(r.attribute, r.group, r.metric) for r in flagged.itertuples()}
    out: dict = {}
    for r in table.to_dict("records"):
        r["flag"] = (r["attribute"], r["group"], r["metric"]) in keys
        out.setdefault(r["attribute"], {}).setdefault(r["group"], {})[r["metric"]] = r
    return {a: {g: groups[g] for g in display.natural_order(groups, a)}
            for a, groups in out.items()}


def fairness_json(section: dict, as_of) -> dict:
    """The audit as JSON records (NaN -> null) for ``fairness.json``."""

    def records(t):
        return None if t is None else json_records(t)

    return {
        "as_of": str(as_of.date()) if as_of is not None else None,
        "primary_property": "calibration within groups",
        "thresholds": {"min_members": fairness.MIN_MEMBERS,
                       "min_positives": fairness.MIN_POSITIVES,
                       "flag_low": fairness.FLAG_LOW, "flag_high": fairness.FLAG_HIGH,
                       "equal_risk_alpha": equal_risk.ALPHA,
                       "equal_risk_strata": equal_risk.N_STRATA},
        "outcomes_known": section["has_labels"],
        "audit": records(section["table"]), "flags": records(section["flags"]),
        "equal_risk": records(section["equal_risk"]),
        "equal_risk_flags": records(section["equal_risk_flags"]),
        "equal_risk_by_system": records(section.get("by_system")),
        "equal_risk_by_system_flags": records(section.get("by_system_flags")),
        "true_risk_source": section["true_risk_source"],
    }


def json_records(t: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else
                 v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in t.to_dict("records")]


def incumbents(run: Run) -> set[str]:
    """Names of external systems (baseline_scores file in the dataset), lower-cased; the
    modelling stage calls the external system's column ``incumbent``."""
    names = {"incumbent"}
    path = table_path(run.data_dir, "baseline_scores") if run.data_dir else None
    if path is not None:
        col = pd.read_csv(path, usecols=["system"]) if path.suffix == ".csv" else \
            pd.read_parquet(path, columns=["system"])
        names |= {str(s).lower() for s in col["system"].dropna().unique()}
    return names


METRIC_ORDER = ("roc_auc", "pr_auc", "top_share_recall", "recall", "precision", "harm",
                "homicides", "brier", "ece", "calibration_slope", "calibration_intercept")
#: metrics that are proportions (shown as percentages; differences in percentage points)
PROPORTIONS = ("recall", "precision", "harm", "top_share_recall", "ece")
NO_SCORES = "no scores"


def _metric_key(name: str):
    """Ranking metrics first, then the cohort metrics by k, then calibration."""
    base, _, k = name.replace("_at_", "@").partition("@")
    rank = METRIC_ORDER.index(base) if base in METRIC_ORDER else len(METRIC_ORDER)
    return rank, int(k) if k.isdigit() else 0, name


def metric_text(name: str, value, diff: bool = False) -> str:
    """A metric value for people: proportions as percentages (differences in percentage
    points), counts and AUCs as plain numbers; never scientific notation."""
    base = name.replace("_at_", "@").partition("@")[0]
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if base in PROPORTIONS:
        return display.pp(value) if diff else display.percent(value)
    if base == "homicides":
        return display.number(value, 2)
    text = display.number(value, 3)
    return f"+{text}" if diff and float(value) > 0 else text


def system_label(name: str, metrics: dict, incumbent_names: set[str]) -> str:
    """Column heading: the display name; the incumbent with its system and coverage."""
    if name.lower() in incumbent_names and name != "model":
        found = metrics.get("incumbent")
        info: dict = found if isinstance(found, dict) else {}
        cov = info.get("coverage")
        system = info.get("system")
        label = f"Incumbent {system}" if system else "Incumbent"
        return label + (f" ({display.percent(cov)} scored)" if isinstance(cov, float) else "")
    return display.system_name(name)


def _system_order(names) -> list[str]:
    known = list(display.SYSTEMS)
    return sorted(dict.fromkeys(names), key=lambda s: (s == "oracle", s != "model",
                                                      known.index(s) if s in known else 99, s))


def validation_rows(validation: dict | None) -> list[dict]:
    """Per input table: rows read, accepted, quarantined, rules broken, expectation results."""
    rows = []
    for name, t in sorted(((validation or {}).get("tables") or {}).items()):
        if not isinstance(t, dict):
            continue
        exp = t.get("expectations") or {}
        rules = t.get("rules") or {}
        rows.append({"table": name, "file": t.get("file"), "read": t.get("read"),
                     "accepted": t.get("accepted"), "quarantined": t.get("quarantined"),
                     "rules": ", ".join(f"{k.replace('_', ' ')}: {display.number(v)}"
                                        for k, v in rules.items()) or "none",
                     "expectations": f"{exp.get('successful', '?')} of {exp.get('evaluated', '?')}"
                     if exp else "-"})
    return rows


def incumbent_note(metrics: dict, systems) -> str | None:
    """Say so when the incumbent had no (or few) scores at this date."""
    info = metrics.get("incumbent")
    if not isinstance(info, dict):
        return None
    cov = info.get("coverage")
    name = info.get("system", "the incumbent")
    scored = name and "incumbent" in (metrics.get("systems") or {})
    if not scored or not cov:
        return (f"Incumbent {name}: no scores dated within {info.get('window_days', '?')} days "
                "before the scoring date; it cannot be compared at this date (its column says "
                f"“{NO_SCORES}”).")
    if isinstance(cov, float) and cov < 0.95:
        return (f"Incumbent {name} scored {display.percent(cov)} of the population at this "
                "date; its metrics treat unscored people as ranked last.")
    return None


def _readable_dict(value) -> str:
    if not isinstance(value, dict) or not value:
        return "not recorded" if not value else str(value)
    def one(v):
        return display.number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    return "; ".join(f"{str(k).replace('_', ' ')} {one(v)}" for k, v in value.items())


def model_details(manifest: dict | Manifest) -> list[tuple[str, str]]:
    """Model card 'details' rows from run.json, in words (no Python dicts, no paths)."""
    cal = manifest.get("calibration")
    if isinstance(cal, dict):
        sel = cal.get("selection") or {}
        cal = f"{cal.get('method', '?')}" + (f" (chosen by {sel['chosen_by']})"
                                             if sel.get("chosen_by") else "")
    snaps = manifest.get("training_snapshots") or []
    n_feat = len(manifest.get("features") or [])
    rows = [("Model", "Gradient-boosted trees (LightGBM) with a probability calibrator; one row "
                      "per person and scoring date"),
            ("Calibration", str(cal) if cal else "not recorded"),
            ("Training snapshots", f"{len(snaps)} dates from {min(snaps)} to {max(snaps)}; "
             "labels use only records known by the scoring date" if snaps else "not recorded"),
            ("Indicators used", display.number(n_feat) if n_feat else "not recorded"),
            ("Hyperparameters", _readable_dict(manifest.get("hyperparameters"))),
            ("Seed", str(manifest.get("seed", "not recorded"))),
            ("Created", display.date_text(manifest.get("created_at"))),
            ("Code version", str(manifest.get("code_version", "not recorded"))),
            ("Software versions", _readable_dict(manifest.get("versions"))),
            ("Licence / owner", "code Apache-2.0 (open source); model and data: the force")]
    return rows


def plain_caution(text: str) -> str:
    """Cautions from metrics.json in plain English ("only 0 homicides" -> "no homicides")."""
    import re

    text = re.sub(r"\bonly 0 ", "no ", str(text))
    return re.sub(r"\b1 (homicides|positives)\b", lambda m: "1 " + m.group(1)[:-1], text)


def observed_expected(y, p) -> dict | None:
    """Observed / expected serious harm with an exact Poisson 95% interval on the observed
    count (the expected count, the sum of the probabilities, is taken as fixed)."""
    from scipy.stats import chi2

    y = np.asarray(y, float)
    p = np.asarray(p, float)
    ok = ~(np.isnan(y) | np.isnan(p))
    o, e = float(y[ok].sum()), float(p[ok].sum())
    if e <= 0:
        return None
    lo = chi2.ppf(0.025, 2 * o) / 2 if o > 0 else 0.0
    hi = chi2.ppf(0.975, 2 * (o + 1)) / 2
    return {"observed": o, "expected": e, "ratio": o / e, "lo": lo / e, "hi": hi / e,
            "n": int(ok.sum())}


def oe_reading(oe: dict | None, where: str = "overall") -> str:
    """What an observed/expected ratio means for a reader."""
    if oe is None:
        return ""
    r, lo, hi = oe["ratio"], oe["lo"], oe["hi"]
    head = (f"{where.capitalize()}, {display.count(oe['observed'], 'person', 'people')} went on "
            f"to cause serious harm where the scores predicted {display.number(oe['expected'], 3)}"
            f": observed / expected = {display.number(r, 2)} (95% interval "
            f"{display.number(lo, 2)} to {display.number(hi, 2)}).")
    if lo <= 1 <= hi:
        return head + (" This is consistent with calibrated scores; with so few cases the "
                       "interval is wide." if hi / max(lo, 1e-9) > 3 else
                       " This is consistent with calibrated scores.")
    if r < 1:
        return head + (f" The scores were about {display.number(1 / r, 2)} times too high at "
                       "this date. Possible reasons: outcomes recorded late (the last months of "
                       "the horizon may be incomplete), a real fall in serious harm since the "
                       "training period, or over-fitting. The ranking (AUC, recall) is not "
                       "affected, but probabilities and band cut-offs quoted to officers are: "
                       "read them as relative, not absolute, until recalibrated.")
    return head + (f" The scores were about {display.number(r, 2)} times too low at this date: "
                   "more serious harm happened than predicted (more recording, a real rise, or "
                   "a population the training data did not cover). Band cut-offs understate "
                   "risk; the ranking is not affected.")


def metrics_view(metrics: Metrics | None) -> dict:
    """metrics.json as the pack's tables name its parts: ``systems`` (each system's metrics),
    ``paired`` (model minus each baseline, same resamples), ``population`` (people scored)."""
    if metrics is None:
        return {}
    d = metrics.to_dict()
    return {**d, "systems": d["scores"], "paired": d["differences"], "population": d["n"]}


def _cell(name: str, e: dict | None, unscored: bool) -> dict[str, str]:
    """One metric of one system as display text and interval ("-" when not computable)."""
    if unscored:
        return {"text": NO_SCORES, "ci": ""}
    if e is None or e.get("value") is None or not np.isfinite(float(e["value"])):
        return {"text": "-", "ci": ""}
    return {"text": metric_text(name, e["value"]),
            "ci": display.interval(e.get("lo"), e.get("hi"),
                                   lambda v, n=name: metric_text(n, v))}


def _metric_rows(metric_names: list[str], order: list[str], systems: dict,
                 inc_info: dict | None) -> list[dict]:
    """Rows of the metrics table: one per metric, one cell per system. An incumbent without
    scores says so rather than showing dashes that read as zero."""
    rows = []
    for name in metric_names:
        cells = {}
        for s in order:
            unscored = s == "incumbent" and (not systems[s] or not (inc_info or {}).get(
                "coverage"))
            cells[s] = _cell(name, systems[s].get(name), unscored)
        rows.append({"key": name, "name": display.metric_name(name),
                     "help": display.metric_help(name), "cells": cells})
    return rows


def _diff_rows(metric_names: list[str], pair_order: list[str], paired: dict) -> list[dict]:
    """Rows of the paired-differences table (model minus each baseline on the same resamples);
    ``star`` marks an interval that excludes zero."""
    diff_rows = []
    for name in metric_names:
        cells: dict[str, dict[str, Any]] = {}
        for b in pair_order:
            d = paired[b].get(name)
            if d is None or d.get("value") is None or not np.isfinite(float(d["value"])):
                cells[b] = {"text": "-", "ci": "", "star": False}
                continue
            lo, hi = d.get("lo"), d.get("hi")
            star = lo is not None and hi is not None and (lo > 0 or hi < 0)
            cells[b] = {"text": metric_text(name, d["value"], diff=True),
                        "ci": display.interval(lo, hi, lambda v, n=name: metric_text(n, v, True)),
                        "star": bool(star)}
        diff_rows.append({"key": name, "name": display.metric_name(name), "cells": cells})
    return diff_rows


def _glossary(metric_names: list[str]) -> list[tuple[str, str]]:
    """Name and plain-English help of each metric family (recall@50 and @100 share one)."""
    glossary: dict[str, tuple[str, str]] = {}
    for name in metric_names:
        base = name.replace("_at_", "@").partition("@")[0]
        glossary.setdefault(base, (display.metric_name(base), display.metric_help(base)))
    return list(glossary.values())


def _outcome_views(run: Run, out: dict[str, Any]) -> None:
    """Calibration, observed/expected and the at-k curves, computed from evaluation.parquet
    (the same people and counting as metrics.json) when outcomes are known."""
    ev = run.evaluation
    if ev is None or "serious_harm" not in ev or not ev["serious_harm"].notna().any():
        return
    if "model" not in ev:
        return
    e = ev[ev["serious_harm"].notna()].reset_index(drop=True)
    out["calibration"] = plots.calibration_plot(e["model"], e["serious_harm"])
    out["calibration_table"] = plots.calibration_bins(e["model"], e["serious_harm"])
    out["oe"] = observed_expected(e["serious_harm"], e["model"])
    out["oe_text"] = oe_reading(out["oe"])
    tb = model_tiebreak(run, e)
    cohort = cohort_mask(run, e)
    if cohort is not None and cohort.any():
        out["oe_cohort"] = observed_expected(e.loc[cohort, "serious_harm"],
                                             e.loc[cohort, "model"])
        out["oe_cohort_text"] = oe_reading(out["oe_cohort"], "in the cohort")
    scored = [c for c in run.systems() if e[c].notna().any()]  # an unscored incumbent: no line
    out["curve_systems"] = scored
    out["tiebreak"] = {"model": tb} if tb is not None else {}
    out["at_k"] = plots.precision_recall_at_k_plot(
        e, scored, "serious_harm", run.manifest.get("k"), tiebreak=out["tiebreak"],
        names={s: display.system_name(s) for s in scored})


def performance_section(run: Run) -> dict:
    """metrics.json as display rows (metric x system) and paired differences, plus curves and
    calibration computed from evaluation.parquet, the same people and counting as the table."""
    m = metrics_view(run.metrics)
    systems = dict(m.get("systems", {}))
    inc_info = m.get("incumbent") if isinstance(m.get("incumbent"), dict) else None
    if inc_info is not None and "incumbent" not in systems:
        systems["incumbent"] = {}  # shown, with "no scores"
    metric_names = sorted(dict.fromkeys(k for s in systems.values() for k in s), key=_metric_key)
    order = _system_order(systems)
    inc = incumbents(run)
    paired = m.get("paired") or {}
    pair_order = [b for b in _system_order(paired)]
    out: dict[str, Any] = {
        "metrics": m, "systems": order, "metric_names": metric_names,
        "labels": {s: system_label(s, m, inc) for s in order},
        "glossary": _glossary(metric_names),
        "rows": _metric_rows(metric_names, order, systems, inc_info),
        "paired_order": pair_order, "diff_rows": _diff_rows(metric_names, pair_order, paired),
        "pair_labels": {b: system_label(b, m, inc) for b in pair_order},
        "incumbents": inc, "calibration": None, "at_k": None, "oe": None, "oe_cohort": None,
        "incumbent_note": incumbent_note(m, order),
        "cautions": [plain_caution(c) for c in m.get("cautions") or []]}
    _outcome_views(run, out)
    return out


def cohort_size(run: Run) -> int | None:
    """People in the run's cohort (may exceed k when the cut-off would split a tie)."""
    if run.scores is None or "in_cohort" not in run.scores:
        return None
    return int(run.scores["in_cohort"].astype(str).str.lower()
               .isin(["true", "1", "1.0", "yes"]).sum())


def model_tiebreak(run: Run, e: pd.DataFrame) -> np.ndarray | None:
    """The model's own order among equal scores: minus its rank in scores.csv (the rank follows
    the model's margin, which metrics.json uses to break the calibrator's ties)."""
    if run.scores is None or "rank" not in run.scores:
        return None
    rank = e[["person_id"]].merge(run.scores[["person_id", "rank"]].drop_duplicates("person_id"),
                                  on="person_id", how="left")["rank"]
    return -rank.to_numpy(float)


def cohort_mask(run: Run, e: pd.DataFrame) -> pd.Series | None:
    """Who is in the run's cohort (scores.csv ``in_cohort``), aligned with ``e``."""
    if run.scores is None or "in_cohort" not in run.scores:
        return None
    c = e[["person_id"]].merge(run.scores[["person_id", "in_cohort"]]
                               .drop_duplicates("person_id"), on="person_id", how="left")
    return c["in_cohort"].astype(str).str.lower().isin(["true", "1", "1.0", "yes"])


def stability_section(run: Run) -> dict:
    """Model metrics per as_of date, as metric rows x date columns (dates are few, metrics many)."""
    t = sibling_metrics(run)
    if len(t) < 2:
        return {"table": None, "plot": None, "source": t.attrs.get("source")}
    cols = sorted((c for c in t.columns if c not in ("as_of", "run")
                   and pd.api.types.is_numeric_dtype(t[c])), key=_metric_key)
    keep = [c for c in cols if c in ("roc_auc", "pr_auc") or c.startswith(("recall@", "recall_at"))]
    names = {c: display.metric_name(c) for c in cols}
    return {"table": t, "plot": plots.stability_plot(t, keep[:4] or cols[:4], names),
            "source": t.attrs.get("source"), "columns": cols,
            "dates": [str(pd.Timestamp(d).date()) for d in t["as_of"]],
            "rows": [(names[c], [metric_text(c, v) for v in t[c].tolist()]) for c in cols]}


def drift_section(run: Run, previous_dir) -> dict:
    """PSI of each indicator and of the score against the previous iteration, if known."""
    if previous_dir is None:
        return {"previous": None, "note": None}
    try:
        prev = open_run(previous_dir)
    except UserError as exc:  # e.g. a folder of an older layout: said, not fatal
        return {"previous": None, "note": f"The previous iteration's run folder "
                f"({display_path(previous_dir, run.root)}) cannot be read: "
                f"{str(exc).split(': ', 1)[-1]}"}
    out = {"note": None, "previous": display_path(previous_dir, run.root), "prev_as_of": prev.as_of,
           "score_psi": None, "table": None}
    if prev.scores is not None and run.scores is not None:
        value = drift.psi(prev.scores["score"], run.scores["score"])
        out["score_psi"], out["score_reading"] = value, drift.label(value)
    if prev.features is not None and run.features is not None:
        cols = [c for c in run.features.columns if c not in ("person_id", "as_of")]
        t = drift.psi_table(prev.features, run.features, cols)
        t["name"] = [display.indicator_name(c) for c in t["indicator"]]
        t["psi_text"] = [display.number(v, 2) for v in t["psi"]]
        out["table"] = t
    return out


def display_path(path, run_dir) -> str:
    """A folder named for a reader without the machine's absolute path: relative to the run
    folder's parent when it is beside it, else its own name."""
    import os

    p, base = Path(path).resolve(), Path(run_dir).resolve().parent
    try:
        rel = os.path.relpath(p, base)
    except ValueError:
        return p.name
    return rel if not rel.startswith("..") else p.name


def catalogue_section(run: Run) -> dict:
    """The indicator catalogue (features stage), restricted to the indicators this run used."""
    try:
        from riskcohort.features.catalogue import load_catalogue

        items = load_catalogue()
    except Exception as exc:  # the catalogue is another stage's; its absence must not hide the rest
        return {"items": [], "note": f"indicator catalogue not available ({exc})"}
    used = set(run.manifest.get("features") or [])
    if not used and run.features is not None:
        used = set(run.features.columns) - {"person_id", "as_of"}
    rows = [i for i in items if not used or getattr(i, "name", None) in used]
    direction = {1: "raises risk", -1: "lowers risk", 0: "either way (not constrained)"}
    shown = [{"name": display.indicator_name(i.name), "key": i.name, "group": i.group,
              "description": display.plain_text(i.description),
              "sources": ", ".join(i.sources), "window": i.window,
              "direction": direction.get(i.direction, str(i.direction)),
              "evidence": i.evidence} for i in rows]
    return {"items": rows, "rows": shown, "note": None}


EXPLAIN_PLOTS = {
    "importance": ("Which indicators matter most overall",
                   "Mean absolute contribution to the score (log-odds) over everyone scored."),
    "beeswarm": ("How each indicator's value moves the score",
                 "Each dot is a person (a fixed random sample of at most 5,000); colour is the "
                 "indicator's value from low to high; grey means the value is unknown."),
}


def explain_plots(run: Run) -> list[dict]:
    """The explain stage's global plots with a readable title and, under each, who is not
    shown (people whose indicator value is unknown are left out of a dependence plot)."""
    out = []
    n = len(run.features) if run.features is not None else 0
    for p in run.plots:
        if p.suffix != ".png" and p.with_suffix(".png").exists():
            continue
        stem = p.stem
        if stem.startswith("dependence_"):
            key = stem[len("dependence_"):]
            title = f"How “{display.indicator_name(key)}” changes the score"
            note = "Each dot is a person: the indicator's value and its contribution."
            if run.features is not None and key in run.features:
                missing = int(run.features[key].isna().sum())
                note += (f" Not shown: {display.count(missing, 'person', 'people')} of "
                         f"{display.number(n)} scored ({display.percent(missing / n)}) with no "
                         "value for this indicator (for example never assessed or never "
                         "graded)." if missing else " Everyone scored is shown.")
        else:
            title, note = EXPLAIN_PLOTS.get(stem, (stem.replace("_", " ").capitalize(), ""))
        out.append({"title": title, "note": note, "uri": plots.file_uri(p)})
    return out
