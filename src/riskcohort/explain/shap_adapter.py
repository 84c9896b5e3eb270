"""SHAP contributions for the LightGBM booster: the one place that knows SHAP's output shapes.

Why one place: SHAP has changed what ``TreeExplainer`` returns for a binary LightGBM model across
versions (a list of two arrays, one ``(n, p)`` array, a ``(n, p, k)`` array, an ``Explanation``
object; ``expected_value`` as a scalar, a length-1 or length-k array, or per-row base values).
Everything else in riskcohort calls :func:`contributions` and gets ``(base_value, values[n, p])``
in raw log-odds space for the positive class, whatever the installed SHAP does.

The stated method is SHAP's ``TreeExplainer`` (path-dependent Tree SHAP). For LightGBM, SHAP calls
LightGBM's own C++ Tree SHAP (``booster.predict(X, pred_contrib=True)``), so the two agree to
rounding; :func:`lightgbm_contributions` is the cross-check used by the tests.

>>> import numpy as np
>>> base, vals = normalise([np.zeros((2, 3)), np.ones((2, 3))], [0.5, -0.5], n=2, p=3)
>>> base, vals.shape, float(vals.sum())
(-0.5, (2, 3), 6.0)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

METHOD = "shap.TreeExplainer (tree_path_dependent, raw log-odds output)"


def _base_scalar(expected_value) -> float:
    """Reduce any SHAP ``expected_value`` / ``base_values`` form to the positive-class scalar.

    Per-row base values (all equal for Tree SHAP) give their common value; a pair of different
    values is ``[negative class, positive class]`` and gives the last.
    """
    ev = np.asarray(expected_value, dtype=float)
    if ev.ndim == 2:  # per-row, per-class
        ev = ev[:, -1]
    ev = ev.ravel()
    if np.allclose(ev, ev[0]):
        return float(ev[0])
    if ev.size == 2:
        return float(ev[-1])
    raise ValueError("SHAP returned base values that differ between rows; cannot reduce")


def normalise(values, expected_value, *, n: int, p: int) -> tuple[float, np.ndarray]:
    """Turn any SHAP output shape into ``(base_value, values[n, p])`` for the positive class.

    Accepts a list of per-class arrays, a 2-D ``(n, p)`` array, a 3-D ``(n, p, k)`` or
    ``(k, n, p)`` array, or an ``Explanation`` (its ``values``/``base_values`` are used).
    """
    if hasattr(values, "values") and hasattr(values, "base_values"):  # shap.Explanation
        expected_value = values.base_values if expected_value is None else expected_value
        values = values.values
    if isinstance(values, list | tuple):
        values = values[-1]  # per-class list: the last class is the positive one
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1 and n == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim == 3:
        if arr.shape[:2] == (n, p):
            arr = arr[:, :, -1]
        elif arr.shape[1:] == (n, p):
            arr = arr[-1]
    if arr.shape != (n, p):
        raise ValueError(f"unexpected SHAP values shape {np.shape(values)} for {n} rows x {p}")
    return _base_scalar(expected_value), arr


def _matrix(booster, X) -> np.ndarray:
    """The model matrix in the booster's feature order (float64; NaN stays missing)."""
    names = booster.feature_name()
    if hasattr(X, "columns"):
        X = X[names]
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise ValueError(f"expected {len(names)} feature columns, got shape {arr.shape}")
    return arr


def split_thresholds(booster) -> dict[int, np.ndarray] | None:
    """Sorted numerical split thresholds per feature index; None if any split is categorical."""
    by_feature: dict[int, list[float]] = {}
    feats: np.ndarray | None = None
    thrs: np.ndarray | None = None
    for line in booster.model_to_string().splitlines():
        key, _, rest = line.partition("=")
        if key == "split_feature":
            feats = np.array(rest.split(), dtype=int)
        elif key == "threshold":
            thrs = np.array(rest.split(), dtype=float)
        elif key == "decision_type":
            if np.any(np.array(rest.split(), dtype=int) & 1):
                return None
            for f, t in zip(feats, thrs, strict=True):  # type: ignore[arg-type]
                by_feature.setdefault(int(f), []).append(float(t))
    return {f: np.unique(np.array(v)) for f, v in by_feature.items()}


def split_codes(booster, arr: np.ndarray) -> np.ndarray:
    """Per cell: which side of every split threshold it falls, plus zero / missing flags.

    Why: path-dependent Tree SHAP depends on a row only through the direction it takes at each
    split node, so rows with equal codes have *identical* contributions; explaining one row per
    code is exact and much faster when many people share a profile. Exact zeros and NaN get their
    own codes because LightGBM may route them as missing. Without usable thresholds (categorical
    splits), the cells themselves are returned (exact duplicates only).
    """
    splits = split_thresholds(booster)
    if splits is None:
        return arr
    codes = np.empty(arr.shape, dtype=np.int64)
    empty = np.empty(0)
    for j in range(arr.shape[1]):
        col = arr[:, j]
        code = 3 * np.searchsorted(splits.get(j, empty), col, side="left")
        code[np.abs(col) <= 1e-35] += 1
        code[np.isnan(col)] = -1
        codes[:, j] = code
    return codes


def shap_module():
    """``shap``, imported with the tracebacks of the optional imports it swallowed dropped.

    Why: shap keeps every ImportError it caught at import (its CUDA extension, pyspark, cv2) in
    a module-level dict, and a traceback's frames reach back through whoever imported shap
    first. Imported lazily while a run explains, that kept the run's dataset, scored snapshot
    and explanation chunks alive until the process ended (GBs at national scale, issue 22).
    The messages stay; only the frames go.
    """
    import shap
    from shap.utils import _general

    for _, error in _general.import_errors.values():
        error.__traceback__ = None
        error.__context__ = error.__cause__ = None
    return shap


def _shap_values(booster, arr: np.ndarray) -> tuple[float, np.ndarray]:
    shap = shap_module()
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*output has changed.*")
        values = explainer.shap_values(arr, check_additivity=False)
    return normalise(values, explainer.expected_value, n=arr.shape[0], p=arr.shape[1])


def contributions(booster: Any, X: Any, *, engine: str = "shap",
                  dedupe: bool = True) -> tuple[float, np.ndarray]:
    """SHAP contributions in log-odds: ``base + values.sum(1)`` equals the raw margin.

    ``X`` is a DataFrame (columns picked in the booster's order) or an array in that order.
    ``engine="shap"`` is the stated method (``shap.TreeExplainer``); ``engine="lightgbm"`` calls
    the same C++ Tree SHAP directly, skipping the explainer's set-up (for one person at a time).
    ``dedupe`` explains one row per :func:`split_codes` profile and copies it back (exact).
    """
    arr = _matrix(booster, X)
    if len(arr) == 0:  # nobody scored: the base value is the same for any row
        base, _ = lightgbm_contributions(booster, np.full((1, arr.shape[1]), np.nan))
        return base, np.empty((0, arr.shape[1]))
    rows, inverse = np.arange(len(arr)), None
    if dedupe and len(arr) > 1:
        _, rows, inverse = np.unique(split_codes(booster, arr), axis=0, return_index=True,
                                     return_inverse=True)
    compute = _shap_values if engine == "shap" else lightgbm_contributions
    base, values = compute(booster, arr[rows])
    if inverse is not None:
        values = values[np.ravel(inverse)]
    return base, values


def lightgbm_contributions(booster, X) -> tuple[float, np.ndarray]:
    """LightGBM's native Tree SHAP (``pred_contrib``; last column is the base value)."""
    arr = _matrix(booster, X)
    threads = 1 if len(arr) < 100 else 0  # one row: thread start-up costs more than the work
    out = np.asarray(booster.predict(arr, pred_contrib=True, num_threads=threads), dtype=float)
    if out.shape != (arr.shape[0], arr.shape[1] + 1):
        raise ValueError(f"pred_contrib returned shape {out.shape}; expected a binary model")
    return _base_scalar(out[:, -1]), out[:, :-1]


def raw_margin(booster, X) -> np.ndarray:
    """The booster's raw score (log-odds) for each row."""
    arr = _matrix(booster, X)
    if len(arr) == 0:
        return np.empty(0)
    threads = 1 if len(arr) < 100 else 0
    return np.asarray(booster.predict(arr, raw_score=True, num_threads=threads), dtype=float)
