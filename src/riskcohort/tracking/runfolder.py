"""Read a run folder (run.json, metrics.json) the way tracking needs it, in one place.

metrics.json is written by ``riskcohort.modelling.metrics.evaluate`` in parallel with this
stage, so its layout is read defensively here and only here: a change of layout is a one-place
fix. Every metric becomes a flat, MLflow-valid name, with interval bounds as separate metrics
(``recall_at_100``, ``recall_at_100_lo``, ``recall_at_100_hi``), so the model run and each
baseline run carry identical names and MLflow's compare view lines them up.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from riskcohort.io import read_json, write_json

#: The system in metrics.json that is the trained model; all others are baselines.
MODEL_SYSTEM = "model"
#: Keys of a leaf that hold the point estimate (value for metrics, diff for paired differences).
POINT_KEYS = ("value", "diff", "estimate", "point")
#: Top-level keys of metrics.json that are not systems.
META_KEYS = {"as_of", "n", "population", "positives", "base_rate", "homicides", "total_harm",
             "paired", "differences", "coverage", "ks", "n_boot", "seed", "reference",
             "calibration_bins", "systems", "scores", "cautions", "notes", "backtest",
             "incumbent", "validation", "targets", "share_of_oracle"}
#: Model-only blocks logged on the model run with their key as prefix.
MODEL_BLOCKS = ("coverage", "share_of_oracle", "validation", "incumbent")
#: Population-level figures copied onto every run (model and baselines alike).
SHARED_KEYS = ("n", "population", "positives", "base_rate", "homicides", "total_harm")
#: Where each block lives, by layout version (first key present wins).
SYSTEMS_KEYS = ("scores", "systems")
PAIRED_KEYS = ("differences", "paired")


def metric_name(*parts: str) -> str:
    """A valid MLflow metric name from parts (``@`` -> ``_at_``, other odd characters -> ``_``).

    >>> metric_name("recall@100", "lo")
    'recall_at_100_lo'
    >>> metric_name("paired", "RFG-V", "recall_at_100")
    'paired_RFG-V_recall_at_100'
    """
    name = "_".join(str(p) for p in parts if p not in (None, ""))
    name = name.replace("@", "_at_")
    return re.sub(r"[^A-Za-z0-9_\-./ ]+", "_", name).strip("_")


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """Flatten nested metric dicts to ``{name: float}``; non-finite and non-numbers are dropped.

    >>> flatten({"auc": {"value": 0.8, "lo": 0.7, "hi": 0.9}, "n": 3, "bad": None})
    {'auc': 0.8, 'auc_lo': 0.7, 'auc_hi': 0.9, 'n': 3.0}
    """
    out: dict[str, float] = {}
    if isinstance(obj, bool):
        return out
    if isinstance(obj, int | float):
        if math.isfinite(obj) and prefix:
            out[metric_name(prefix)] = float(obj)
        return out
    if not isinstance(obj, dict):
        return out
    point = next((k for k in POINT_KEYS if k in obj), None)
    if point is not None:
        out.update(flatten(obj[point], prefix))
    for key, value in obj.items():
        if key != point:
            out.update(flatten(value, metric_name(prefix, key)))
    return out


def read_manifest(run_dir: str | Path) -> dict:
    """run.json of a run folder."""
    return read_json(Path(run_dir) / "run.json")


def write_run_id(run_dir: str | Path, run_id: str) -> None:
    """Record the MLflow run id in run.json, atomically (re-read so other keys are kept)."""
    manifest = read_manifest(run_dir)
    manifest["mlflow_run_id"] = run_id
    write_json(Path(run_dir) / "run.json", manifest)


def systems(metrics: dict) -> dict[str, dict[str, float]]:
    """Per system (model, dash, rfgv, ...): flat metrics, plus the population figures.

    >>> m = {"n": 10, "scores": {"model": {"recall@100": {"value": 0.8}}, "dash": {}}}
    >>> systems(m)["model"]
    {'recall_at_100': 0.8, 'n': 10.0}
    """
    block = _first(metrics, SYSTEMS_KEYS)
    if block is None:  # flat layout: systems at the top level
        block = {k: v for k, v in metrics.items() if k not in META_KEYS and isinstance(v, dict)}
    shared = flatten({k: metrics[k] for k in SHARED_KEYS if k in metrics})
    return {str(name): {**flatten(values), **shared} for name, values in block.items()}


def model_extras(metrics: dict) -> dict[str, float]:
    """Metrics only the model run carries: paired differences vs each baseline, share of the
    oracle, validation and incumbent coverage figures."""
    out = flatten(_first(metrics, PAIRED_KEYS) or {}, "paired")
    for block in MODEL_BLOCKS:
        out.update(flatten(metrics.get(block) or {}, block))
    return out


def targets(metrics: dict) -> dict[str, str]:
    """The iteration's pass/fail targets (modelling's summary) as tag values.

    >>> targets({"targets": {"auc_ok": True, "recall@50_ok": False, "best": "dash"}})
    {'target.auc_ok': 'true', 'target.recall_at_50_ok': 'false', 'target.best': 'dash'}
    >>> targets({"targets": {"recall@100_ratio_ok": True}})  # MLflow tag names allow no '@'
    {'target.recall_at_100_ratio_ok': 'true'}
    """
    out: dict[str, str] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, bool):
            out[prefix.replace("@", "_at_")] = str(value).lower()
        elif value is not None:
            out[prefix.replace("@", "_at_")] = str(value)

    walk("target", metrics.get("targets") or {})
    return out


def _first(metrics: dict, keys: tuple[str, ...]) -> dict | None:
    for key in keys:
        if isinstance(metrics.get(key), dict):
            return metrics[key]
    return None


def point_and_interval(flat: dict[str, float], name: str) -> tuple[float, float, float]:
    """(value, lo, hi) of one metric from a flat dict (NaN where absent)."""
    nan = float("nan")
    return flat.get(name, nan), flat.get(f"{name}_lo", nan), flat.get(f"{name}_hi", nan)
