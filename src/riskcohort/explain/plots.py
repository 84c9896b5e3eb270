"""Global explanation plots for a run: importance, beeswarm, dependence (PNG and SVG).

Why our own matplotlib code rather than ``shap.plots``: labels must be the catalogue's
descriptions (readable by a governance board, wrapped to fit), files must be written atomically,
and 50,000 people must plot in seconds (points are subsampled with a fixed seed; the importance
bars use everyone). SVG keeps text as text so the governance report stays searchable.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from riskcohort.io import atomic_path

MAX_POINTS = 5000
TOP_BEESWARM = 12
TOP_DEPENDENCE = 3


def _wrap(text: str, width: int = 46, lines: int = 2) -> str:
    """At most ``lines`` lines of ``width`` characters, so labels never overlap."""
    wrapped = textwrap.wrap(text, width) or [text]
    if len(wrapped) > lines:
        wrapped = wrapped[: lines - 1] + [textwrap.shorten(" ".join(wrapped[lines - 1:]), width,
                                                           placeholder="...")]
    return "\n".join(wrapped)


def _rank01(col: np.ndarray) -> np.ndarray:
    """Value ranks scaled to 0..1 (ties share a colour; NaN stays NaN, drawn grey)."""
    import pandas as pd

    return pd.Series(col).rank(pct=True, method="average").to_numpy()


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically and close the figure."""
    import matplotlib.pyplot as plt

    paths = []
    for ext in ("png", "svg"):
        path = out_dir / f"{stem}.{ext}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _sample(n: int, seed: int) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def importance_order(values: np.ndarray) -> np.ndarray:
    """Feature indices by mean |SHAP|, largest first (ties by position, stable)."""
    return np.argsort(-np.abs(values).mean(axis=0), kind="stable")


def plot_all(
    X: np.ndarray,
    values: np.ndarray,
    names: list[str],
    descriptions: list[str],
    out_dir: Path,
    seed: int = 0,
    mean_abs: np.ndarray | None = None,
    n_people: int | None = None,
) -> list[Path]:
    """Write importance, beeswarm and top dependence plots; return the files written.

    ``mean_abs``: mean |contribution| of everyone scored, when ``X``/``values`` hold only the
    rows to plot (a national population is explained a chunk at a time); ``n_people`` is then
    how many people were scored."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    if mean_abs is None:
        order = importance_order(values)
        mean_abs = np.abs(values).mean(axis=0)
    else:
        order = np.argsort(-np.asarray(mean_abs), kind="stable")
    rows = _sample(len(X), seed)
    written: list[Path] = []
    with plt.rc_context({"svg.fonttype": "none", "font.size": 9}):
        top = order[: min(20, len(order))][::-1]
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(top) + 1.2))
        ax.barh([_wrap(descriptions[i]) for i in top], mean_abs[top], color="#3b6ea5")
        ax.set_xlabel("mean |contribution| to the risk score (log-odds)")
        ax.set_title("Which indicators move the score most (everyone scored)")
        written += _save(fig, out_dir, "importance")

        top = order[: min(TOP_BEESWARM, len(order))][::-1]
        fig, ax = plt.subplots(figsize=(10, 0.6 * len(top) + 1.5))
        jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, len(rows))
        for y, i in enumerate(top):
            sc = ax.scatter(values[rows, i], y + jitter, c=_rank01(X[rows, i]), cmap="coolwarm",
                            vmin=0, vmax=1,
                            s=4, alpha=0.6, linewidths=0, plotnonfinite=True)
        ax.set_yticks(range(len(top)), [_wrap(descriptions[i]) for i in top])
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel("contribution to the risk score (log-odds); right = higher risk")
        ax.set_title(f"Contributions per person ({len(rows)} of {n_people or len(X)} people "
                     "shown)")
        fig.colorbar(sc, ax=ax, label="indicator value (low to high rank)")
        written += _save(fig, out_dir, "beeswarm")

        for i in order[: min(TOP_DEPENDENCE, len(order))]:
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.scatter(X[rows, i], values[rows, i], s=5, alpha=0.5, color="#3b6ea5", linewidths=0)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_xlabel(_wrap(descriptions[i], 60))
            ax.set_ylabel("contribution (log-odds)")
            ax.set_title("How this indicator's value moves the score")
            written += _save(fig, out_dir, f"dependence_{names[i]}")
    return written
