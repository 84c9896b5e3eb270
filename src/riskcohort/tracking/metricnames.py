"""metrics.json as flat MLflow metric names, so every run of an iteration lines up in MLflow.

Every metric becomes a flat, MLflow-valid name, with interval bounds as separate metrics
(``recall_at_100``, ``recall_at_100_lo``, ``recall_at_100_hi``), so the model run and each
baseline run carry identical names and MLflow's compare view lines them up. The layout read is
the one of :class:`riskcohort.runfolder.Metrics` (``scores``/``differences``, intervals as
``value``/``lo``/``hi``), no other.
"""

from __future__ import annotations

import math
import re

from riskcohort.runfolder import Metrics
from riskcohort.runfolder.layout import MODEL_SYSTEM

#: Model-only blocks logged on the model run with their key as prefix.
MODEL_BLOCKS = ("share_of_oracle", "validation", "incumbent")
#: Population-level figures copied onto every run (model and baselines alike).
SHARED_KEYS = ("n", "positives", "base_rate", "homicides", "total_harm")

__all__ = ["MODEL_SYSTEM", "metric_name", "flatten", "systems", "model_extras", "targets",
           "point_and_interval"]


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
    if "value" in obj:
        out.update(flatten(obj["value"], prefix))
    for key, value in obj.items():
        if key != "value":
            out.update(flatten(value, metric_name(prefix, key)))
    return out


def systems(metrics: Metrics) -> dict[str, dict[str, float]]:
    """Per system (model, dash, rfgv, ...): flat metrics, plus the population figures.

    >>> m = Metrics(backtest=True, n=10, scores={"model": {"recall@100": {"value": 0.8}}})
    >>> systems(m)["model"]
    {'recall_at_100': 0.8, 'n': 10.0}
    """
    shared = flatten({k: getattr(metrics, k) for k in SHARED_KEYS
                      if getattr(metrics, k) is not None})
    return {str(name): {**flatten(values), **shared} for name, values in metrics.scores.items()}


def model_extras(metrics: Metrics) -> dict[str, float]:
    """Metrics only the model run carries: paired differences vs each baseline, share of the
    oracle, validation and incumbent coverage figures."""
    out = flatten(metrics.differences, "paired")
    for block in MODEL_BLOCKS:
        out.update(flatten(getattr(metrics, block) or {}, block))
    return out


def targets(metrics: Metrics) -> dict[str, str]:
    """The iteration's pass/fail targets (modelling's summary) as tag values.

    >>> targets(Metrics(targets={"auc_ok": True, "recall@50_ok": False, "best": "dash"}))
    {'target.auc_ok': 'true', 'target.recall_at_50_ok': 'false', 'target.best': 'dash'}
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

    walk("target", metrics.targets or {})
    return out


def point_and_interval(flat: dict[str, float], name: str) -> tuple[float, float, float]:
    """(value, lo, hi) of one metric from a flat dict (NaN where absent)."""
    nan = float("nan")
    return flat.get(name, nan), flat.get(f"{name}_lo", nan), flat.get(f"{name}_hi", nan)
