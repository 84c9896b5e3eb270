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
    point = {n: dict.fromkeys(keys, 0.0) for n in names}
    boot = {n: {key: np.zeros(n_boot) for key in keys} for n in names}
    pos_pt, harm_pt = 0.0, 0.0
    pos_b, harm_b = np.zeros(n_boot), np.zeros(n_boot)
    for f in frames:
        y = f["serious_harm"].to_numpy(float)
        h = np.nan_to_num(f["harm_weight"].to_numpy(float))
        n = len(y)
        pos_pt, harm_pt = pos_pt + y.sum(), harm_pt + h.sum()
        sums = {name: _indicator(_order_and_groups(f[name].to_numpy(float), None),
                                 [np.ones(n), y, h, np.zeros(n)])
                for name in names
                if name in f and np.isfinite(f[name].to_numpy(float)).any()}
        for name, s in sums.items():
            _add_topk(point[name], np.ones((1, n)), s, y, h, ks, None)
        # resamples in chunks: a (resamples x people) weight matrix for 1,000 resamples of
        # 130,000 people, times the per-group sums, would need tens of GB at once
        chunk = max(1, min(n_boot, _CELLS_PER_CHUNK // max(n, 1)))
        for start in range(0, n_boot, chunk):
            part = slice(start, min(n_boot, start + chunk))
            w = _weights(rng, n, part.stop - part.start)
            pos_b[part] += w @ y
            harm_b[part] += w @ h
            for name, s in sums.items():
                _add_topk(boot[name], w, s, y, h, ks, part)

    def metric(src, pos, harm):
        out = {}
        for k in ks:
            out[f"recall@{k}"] = src[f"tp@{k}"] / pos
            out[f"harm@{k}"] = src[f"harm@{k}"] / harm
        return out

    pts = {n: metric(point[n], pos_pt, harm_pt) for n in names}
    bss = {n: metric(boot[n], pos_b, harm_b) for n in names}
    scores = {n: {key: {"value": float(pts[n][key]), "lo": _interval(bss[n][key])[0],
                        "hi": _interval(bss[n][key])[1]} for key in pts[n]} for n in names}
    diffs: dict[str, dict[str, Any]] = {}
    for n in names:
        if n == reference or reference not in names:
            continue
        diffs[n] = {}
        for key in pts[n]:
            lo, hi = _interval(bss[reference][key] - bss[n][key])
            diffs[n][key] = {"value": float(pts[reference][key] - pts[n][key]), "lo": lo,
                             "hi": hi}
    return {"dates": len(frames), "positives": int(pos_pt), "n_boot": n_boot, "seed": seed,
            "ks": list(ks), "scores": scores, "differences": diffs}
