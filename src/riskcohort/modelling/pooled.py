"""Top-k metrics pooled over several backtest dates, with a stratified paired bootstrap.

Why: at one as-of date a cohort of 100 holds a dozen future serious-harm perpetrators, so a
model-minus-rule difference of a few people has an interval that touches zero even when the
model is consistently better. Each date still gets its own cohort of k (as a team would); the
people caught are summed over dates, and each resample draws people *within* each date (strata)
with the same draws for every score (paired).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from riskcohort.modelling.metrics import (
    _CELLS_PER_CHUNK,
    _indicator,
    _interval,
    _order_and_groups,
    _ranking,
    _weights,
)


def _add_topk(store: dict, w, sums, y, h, ks, part) -> None:
    """Add people caught (``tp@k``) and harm caught (``harm@k``) under weights ``w`` to
    ``store`` (point estimates when ``part`` is None, else the resamples in slice ``part``)."""
    r = _ranking(w, sums, ks)
    for k in ks:
        tp = np.nan_to_num(r[f"recall@{k}"] * (w @ y))
        hk = np.nan_to_num(r[f"harm@{k}"] * (w @ h))
        if part is None:
            store[f"tp@{k}"] += float(tp[0])
            store[f"harm@{k}"] += float(hk[0])
        else:
            store[f"tp@{k}"][part] += tp
            store[f"harm@{k}"][part] += hk


def _date_sums(f, names: Sequence[str], y: np.ndarray, h: np.ndarray) -> dict[str, Any]:
    """Per-tie-group sums of one date for every score present there (a baseline missing on a
    date - all NaN - is skipped for that date rather than ranking everybody tied)."""
    n = len(y)
    return {name: _indicator(_order_and_groups(f[name].to_numpy(float), None),
                             [np.ones(n), y, h, np.zeros(n)])
            for name in names
            if name in f and np.isfinite(f[name].to_numpy(float)).any()}


def _resample_date(rng: np.random.Generator, sums: dict[str, Any], y: np.ndarray, h: np.ndarray,
                   ks: tuple[int, ...], boot: dict, pos_b: np.ndarray, harm_b: np.ndarray) -> None:
    """Add one date's resampled totals to ``boot``/``pos_b``/``harm_b`` (a stratum: people are
    drawn within the date). Chunked: a (resamples x people) weight matrix for 1,000 resamples of
    130,000 people, times the per-group sums, would need tens of GB at once."""
    n, n_boot = len(y), len(pos_b)
    chunk = max(1, min(n_boot, _CELLS_PER_CHUNK // max(n, 1)))
    for start in range(0, n_boot, chunk):
        part = slice(start, min(n_boot, start + chunk))
        w = _weights(rng, n, part.stop - part.start)
        pos_b[part] += w @ y
        harm_b[part] += w @ h
        for name, s in sums.items():
            _add_topk(boot[name], w, s, y, h, ks, part)


def _rates(src: dict, pos, harm, ks: tuple[int, ...]) -> dict[str, Any]:
    """Pooled counts to recall@k (share of positives caught) and harm@k (share of harm)."""
    out = {}
    for k in ks:
        out[f"recall@{k}"] = src[f"tp@{k}"] / pos
        out[f"harm@{k}"] = src[f"harm@{k}"] / harm
    return out


def _differences(pts: dict[str, dict[str, Any]], bss: dict[str, dict[str, Any]],
                 names: Sequence[str], reference: str) -> dict[str, dict[str, Any]]:
    """``reference`` minus every other score, on the same (paired) resamples."""
    diffs: dict[str, dict[str, Any]] = {}
    if reference not in names:
        return diffs
    for name in names:
        if name == reference:
            continue
        diffs[name] = {}
        for key in pts[name]:
            lo, hi = _interval(bss[reference][key] - bss[name][key])
            diffs[name][key] = {"value": float(pts[reference][key] - pts[name][key]), "lo": lo,
                                "hi": hi}
    return diffs


def pooled_topk(frames: Sequence, names: Sequence[str], ks=(50, 100, 200), n_boot: int = 1000,
                seed: int = 0, reference: str = "model") -> dict:
    """Pooled recall@k and harm@k over ``frames`` (one per date: ``serious_harm``,
    ``harm_weight`` and one column per name), with paired differences to ``reference``.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"serious_harm": [1, 0, 0, 1], "harm_weight": [5.0, 0, 0, 1],
    ...                   "model": [.9, .1, .2, .8], "rule": [0, 1, 2, 3.]})
    >>> r = pooled_topk([f, f], ["model", "rule"], ks=(1,), n_boot=20)
    >>> r["scores"]["model"]["recall@1"]["value"], r["scores"]["rule"]["recall@1"]["value"]
    (0.5, 0.5)
    """
    ks = tuple(int(k) for k in ks)
    rng = np.random.default_rng(seed)
    keys = [f"{m}@{k}" for k in ks for m in ("tp", "harm")]
    point = {name: dict.fromkeys(keys, 0.0) for name in names}
    boot = {name: {key: np.zeros(n_boot) for key in keys} for name in names}
    pos_pt, harm_pt = 0.0, 0.0
    pos_b, harm_b = np.zeros(n_boot), np.zeros(n_boot)
    for f in frames:
        y = f["serious_harm"].to_numpy(float)
        h = np.nan_to_num(f["harm_weight"].to_numpy(float))
        pos_pt, harm_pt = pos_pt + y.sum(), harm_pt + h.sum()
        sums = _date_sums(f, names, y, h)
        for name, s in sums.items():
            _add_topk(point[name], np.ones((1, len(y))), s, y, h, ks, None)
        _resample_date(rng, sums, y, h, ks, boot, pos_b, harm_b)
    pts = {name: _rates(point[name], pos_pt, harm_pt, ks) for name in names}
    bss = {name: _rates(boot[name], pos_b, harm_b, ks) for name in names}
    scores = {name: {key: {"value": float(pts[name][key]), "lo": _interval(bss[name][key])[0],
                           "hi": _interval(bss[name][key])[1]} for key in pts[name]}
              for name in names}
    return {"dates": len(frames), "positives": int(pos_pt), "n_boot": n_boot, "seed": seed,
            "ks": list(ks), "scores": scores, "differences": _differences(pts, bss, names,
                                                                           reference)}
