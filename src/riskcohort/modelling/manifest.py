"""The run manifest (``run.json``), monotone constraints and the targets summary.

Why a manifest: a run must be traceable (which data bytes, which code, which settings, which
training dates) and comparable across iterations without re-running; tracking and governance
read it. Why the targets summary: the acceptance targets of an iteration (recall@k vs the best
rule, AUC margin, calibration, incumbent, share of oracle) are computed once, here, from the
metrics, so every reader reports the same verdict.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib import metadata
from pathlib import Path

from riskcohort.contract.gate import dataset_record
from riskcohort.contract.schema import TABLES
from riskcohort.modelling.baselines import RULE_BASELINES


def monotone_for(features: list[str], spec: dict) -> list[int] | None:
    """Monotone constraint per feature from the catalogue's ``direction`` (+1/-1/0).

    Why: an indicator documented as "risk rises with it" must never lower a score when it
    rises (explainability and challengeability); the catalogue is the single source.
    """
    if not spec.get("monotone", {}).get("use_catalogue", True):
        return None
    try:
        from riskcohort.features.catalogue import load_catalogue

        direction = {ind.name: int(ind.direction) for ind in load_catalogue()}
    except (ImportError, FileNotFoundError):
        return None
    return [direction.get(f, 0) for f in features]


def _versions() -> dict:
    out: dict[str, str | None] = {}
    for pkg in ("riskcohort", "lightgbm", "scikit-learn", "pandas", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def code_version() -> str | None:
    """The git commit of the code (``-dirty`` when modified), or None outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(cfg, dataset, as_of, snapshots, features, info, backtest, attrs) -> dict:
    """``run.json``: the fields listed in docs/architecture.md (mlflow_run_id set by tracking)."""
    absent = getattr(dataset, "absent", None)
    if absent is None:  # a plain dict of tables: the optional tables not given
        absent = sorted(n for n in TABLES if n not in dataset)
    return {
        "experiment": cfg.name,
        "experiment_file": str(cfg.path) if cfg.path else None,
        "config": cfg.as_dict(),
        "as_of": str(as_of),
        "data_dir": str(getattr(dataset, "root", cfg.data_dir)),
        "fingerprint": getattr(dataset, "fingerprint", None),
        "horizon_days": cfg.horizon_days,
        "serious_offences": list(cfg.serious_offences),
        "domestic_only": cfg.domestic_only,
        "k": cfg.k,
        "bands": cfg.bands,
        "seed": cfg.seed,
        "features": list(features),
        "absent_sources": absent,
        "quarantine": dataset_record(dataset),
        "feature_notes": list((attrs or {}).get("notes", [])),
        "training_snapshots": [str(s) for s in snapshots],
        "hyperparameters": info["hyperparameters"],
        "calibration": info["calibration"],
        "training": {k: v for k, v in info.items() if k not in ("calibration",)},
        "backtest": bool(backtest),
        "versions": _versions(),
        "code_version": code_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mlflow_run_id": None,
    }


def summarise(res: dict, k: int) -> dict:
    """Share of oracle and the iteration's targets, from :func:`metrics.evaluate` output."""
    sc, diff = res["scores"], res["differences"]
    m = sc.get("model", {})
    out: dict = {}
    rules = [b for b in RULE_BASELINES if b in sc]
    rk = f"recall@{k}"
    if rules and rk in m:
        best = max(rules, key=lambda b: sc[b][rk]["value"])
        best_auc = max(rules, key=lambda b: sc[b]["roc_auc"]["value"])
        ratio = m[rk]["value"] / sc[best][rk]["value"] if sc[best][rk]["value"] else float("inf")
        d = diff.get(best, {}).get(rk, {})
        targets = {
            "best_rule_recall": best,
            f"recall@{k}_ratio_vs_best_rule": ratio,
            f"recall@{k}_ratio_ok": ratio >= 1.5 and d.get("lo", 0) > 0,
            "best_rule_auc": best_auc,
            "auc_margin_vs_best_rule": m["roc_auc"]["value"] - sc[best_auc]["roc_auc"]["value"],
        }
        targets["auc_ok"] = targets["auc_margin_vs_best_rule"] >= 0.05
        if "ece" in m:
            targets["ece_ok"] = m["ece"]["value"] < 0.01
            targets["slope_ok"] = 0.8 <= m["calibration_slope"]["value"] <= 1.2
        if "incumbent" in sc:
            di = diff.get("incumbent", {})
            targets["beats_incumbent"] = {
                key: di[key]["lo"] > 0 for key in ("roc_auc", rk) if key in di
            }
        out["targets"] = targets
    if "oracle" in sc and m:
        share = {}
        for key in m:
            if key.startswith(("recall@", "harm@", "precision@")) or key == "pr_auc":
                o = sc["oracle"][key]["value"]
                share[key] = m[key]["value"] / o if o else None
        o_auc = sc["oracle"]["roc_auc"]["value"]
        share["roc_auc_above_chance"] = (m["roc_auc"]["value"] - 0.5) / (o_auc - 0.5) \
            if o_auc != 0.5 else None
        out["share_of_oracle"] = share
    return out
