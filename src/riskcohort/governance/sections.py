"""Build each section of the governance pack from a loaded run folder (data, no HTML).

Why separate from rendering: every number shown is computed here once, so tests can check the
numbers without parsing HTML, and ``fairness.json`` (read by the review app) holds exactly what
the pack shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.governance import drift, equal_risk, fairness, plots
from riskcohort.governance.protected import attach_protected, attach_true_risk, table_path
from riskcohort.runfolder import Metrics, open_run, sibling_metrics
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
    if "true_risk" in frame and frame["true_risk"].notna().any():
        er = pd.concat([equal_risk.equal_risk(frame, a, score_col="score") for a in ATTRIBUTES],
                       ignore_index=True)
        section["equal_risk"], section["equal_risk_flags"] = er, equal_risk.flags(er)
        systems = frame.attrs.get("systems") or {"model": "score"}
        bs = equal_risk.by_system(frame, systems, k)
        section["by_system"], section["by_system_flags"] = bs, equal_risk.flags(bs)
        section["by_system_summary"] = system_summary(bs)
    return section


def system_summary(table: pd.DataFrame) -> dict:
    """{(attribute, group): {system: row at the widest cut-off}} for the report's compact view."""
    if table is None or table.empty:
        return {"cohort": None, "systems": [], "rows": []}
    widest = table["cohort"].max()
    t = table[table["cohort"] == widest]
    systems = list(dict.fromkeys(t["system"]))
    rows = []
    for (attribute, group), g in t.groupby(["attribute", "group"], sort=False):
        rows.append({"attribute": attribute, "group": group,
                     "cells": {r["system"]: r for r in g.to_dict("records")}})
    return {"cohort": int(widest), "systems": systems, "rows": rows}


def pivot(table: pd.DataFrame, flagged: pd.DataFrame) -> dict:
    """{attribute: {group: {metric: row dict + 'flag'}}} for the report's tables."""
    keys = {(r.attribute, r.group, r.metric) for r in flagged.itertuples()}
    out: dict = {}
    for r in table.to_dict("records"):
        r["flag"] = (r["attribute"], r["group"], r["metric"]) in keys
        out.setdefault(r["attribute"], {}).setdefault(r["group"], {})[r["metric"]] = r
    return out


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


METRIC_ORDER = ("roc_auc", "pr_auc", "recall", "precision", "harm", "homicides", "brier", "ece",
                "calibration_slope", "calibration_intercept")


def _metric_key(name: str):
    """Ranking metrics first, then the cohort metrics by k, then calibration."""
    base, _, k = name.replace("_at_", "@").partition("@")
    rank = METRIC_ORDER.index(base) if base in METRIC_ORDER else len(METRIC_ORDER)
    return rank, int(k) if k.isdigit() else 0, name


def system_label(name: str, metrics: dict, incumbent_names: set[str]) -> str:
    """Column heading: say which system is the incumbent and which is the (synthetic) oracle."""
    if name == "model":
        return "model (this run)"
    if name == "oracle":
        return "oracle (true risk; synthetic data only, an upper bound)"
    if name.lower() in incumbent_names:
        info = metrics.get("incumbent") if isinstance(metrics.get("incumbent"), dict) else {}
        cov = info.get("coverage")
        detail = ", ".join(x for x in (info.get("system"), f"coverage {cov:.0%}"
                                       if isinstance(cov, float) else None) if x)
        return f"{name} (incumbent{': ' + detail if detail else ''})"
    return name


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
                     "rules": ", ".join(f"{k}: {v}" for k, v in rules.items()) or "-",
                     "expectations": f"{exp.get('successful', '?')}/{exp.get('evaluated', '?')}"
                     if exp else "-"})
    return rows


def incumbent_note(metrics: dict, systems) -> str | None:
    """Say so when the incumbent had no (or few) scores at this date."""
    info = metrics.get("incumbent")
    if not isinstance(info, dict):
        return None
    cov = info.get("coverage")
    name = info.get("system", "the incumbent")
    if "incumbent" not in systems:
        return (f"Incumbent {name}: no scores dated within {info.get('window_days', '?')} days "
                f"before the scoring date (coverage {cov if cov is not None else 0:.0%}); it "
                "cannot be compared at this date.")
    if isinstance(cov, float) and cov < 0.95:
        return (f"Incumbent {name} scored {cov:.0%} of the population at this date; its metrics "
                "treat unscored people as ranked last.")
    return None


def model_details(manifest: dict) -> list[tuple[str, str]]:
    """Model card 'details' rows from run.json, summarised (long lists are shortened)."""
    cal = manifest.get("calibration")
    if isinstance(cal, dict):
        sel = cal.get("selection") or {}
        cal = f"{cal.get('method', '?')}" + (f" (chosen by {sel['chosen_by']})"
                                             if sel.get("chosen_by") else "")
    snaps = manifest.get("training_snapshots") or []
    rows = [("Model", "Gradient-boosted trees (LightGBM) with a probability calibrator; one row "
                      "per person and scoring date"),
            ("Calibration", str(cal) if cal else "not recorded"),
            ("Training snapshots", f"{len(snaps)} dates from {min(snaps)} to {max(snaps)}; "
             "labels use only records known by the scoring date" if snaps else "not recorded"),
            ("Indicators used", str(len(manifest.get("features") or [])) or "not recorded"),
            ("Hyperparameters", str(manifest.get("hyperparameters", "not recorded"))),
            ("Seed", str(manifest.get("seed", "not recorded"))),
            ("Created", str(manifest.get("created_at", "not recorded"))),
            ("Code version", str(manifest.get("code_version", "not recorded"))),
            ("Software versions", str(manifest.get("versions", "not recorded"))),
            ("Licence / owner", "code Apache-2.0 (open source); model and data: the force")]
    return rows


def metrics_view(metrics: Metrics | None) -> dict:
    """metrics.json as the pack's tables name its parts: ``systems`` (each system's metrics),
    ``paired`` (model minus each baseline, same resamples), ``population`` (people scored)."""
    if metrics is None:
        return {}
    d = metrics.to_dict()
    return {**d, "systems": d["scores"], "paired": d["differences"], "population": d["n"]}


def performance_section(run: Run) -> dict:
    """metrics.json tables (metric x system, paired differences) and curves from evaluation."""
    m = metrics_view(run.metrics)
    systems = m.get("systems", {})
    metric_names = sorted(dict.fromkeys(k for s in systems.values() for k in s), key=_metric_key)
    order = sorted(systems, key=lambda s: (s != "model", s in ("oracle",), s))
    inc = incumbents(run)
    ev, out = run.evaluation, {"metrics": m, "systems": order, "metric_names": metric_names,
                               "labels": {s: system_label(s, m, inc) for s in order},
                               "incumbents": inc, "calibration": None, "at_k": None,
                               "incumbent_note": incumbent_note(m, order)}
    known = ev is not None and "serious_harm" in ev and ev["serious_harm"].notna().any()
    if known and "model" in ev:
        e = ev[ev["serious_harm"].notna()]
        out["calibration"] = plots.calibration_plot(e["model"], e["serious_harm"])
        out["calibration_table"] = plots.calibration_bins(e["model"], e["serious_harm"])
        scored = [c for c in run.systems() if e[c].notna().any()]  # an unscored incumbent: no line
        out["at_k"] = plots.precision_recall_at_k_plot(e, scored, "serious_harm",
                                                       run.manifest.get("k"))
    return out


def stability_section(run: Run) -> dict:
    """Model metrics per as_of date, as metric rows x date columns (dates are few, metrics many)."""
    t = sibling_metrics(run)
    if len(t) < 2:
        return {"table": None, "plot": None, "source": t.attrs.get("source")}
    cols = sorted((c for c in t.columns if c not in ("as_of", "run")
                   and pd.api.types.is_numeric_dtype(t[c])), key=_metric_key)
    keep = [c for c in cols if c in ("roc_auc", "pr_auc") or c.startswith(("recall@", "recall_at"))]
    return {"table": t, "plot": plots.stability_plot(t, keep[:4] or cols[:4]),
            "source": t.attrs.get("source"), "columns": cols,
            "dates": [str(pd.Timestamp(d).date()) for d in t["as_of"]],
            "rows": [(c, t[c].tolist()) for c in cols]}


def drift_section(run: Run, previous_dir) -> dict:
    """PSI of each indicator and of the score against the previous iteration, if known."""
    if previous_dir is None:
        return {"previous": None}
    prev = open_run(previous_dir)
    out = {"previous": str(previous_dir), "prev_as_of": prev.as_of, "score_psi": None,
           "table": None}
    if prev.scores is not None and run.scores is not None:
        value = drift.psi(prev.scores["score"], run.scores["score"])
        out["score_psi"], out["score_reading"] = value, drift.label(value)
    if prev.features is not None and run.features is not None:
        cols = [c for c in run.features.columns if c not in ("person_id", "as_of")]
        out["table"] = drift.psi_table(prev.features, run.features, cols)
    return out


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
    return {"items": rows, "note": None}
