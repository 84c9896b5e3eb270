"""Charts for the governance pack, returned as inline ``data:`` URIs (SVG).

Why inline: the pack is one self-contained file a force can archive, e-mail or print offline; it
must not reference anything outside itself. Each function takes plain arrays/frames and returns a
string to put in ``<img src=...>``; nothing here reads files.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from riskcohort.governance.fairness import FLAG_HIGH, FLAG_LOW, OVERALL


def _fig(width=6.4, height=3.6, ncols=1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "riskcohort"  # deterministic ids -> reproducible reports
    return plt, *plt.subplots(1, ncols, figsize=(width, height))


def _uri(plt, fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_uri(path) -> str:
    """A PNG or SVG file (e.g. the explain stage's plots) as a data URI."""
    from pathlib import Path

    p = Path(path)
    mime = "image/svg+xml" if p.suffix == ".svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def calibration_bins(score, y, bins: int = 10) -> pd.DataFrame:
    """Observed vs predicted by score quantile, with Wilson 95% intervals of the observed rate."""
    f = pd.DataFrame({"p": np.asarray(score, float), "y": np.asarray(y, float)})
    f["bin"] = pd.qcut(f["p"].rank(method="first"), bins, labels=False, duplicates="drop")
    g = f.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
    z = 1.96
    denom = 1 + z**2 / g["n"]
    centre = (g["observed"] + z**2 / (2 * g["n"])) / denom
    half = z * np.sqrt(g["observed"] * (1 - g["observed"]) / g["n"] + z**2 / (4 * g["n"]**2))
    g["lo"], g["hi"] = centre - half / denom, centre + half / denom
    return g.reset_index()


def calibration_plot(score, y) -> str:
    t = calibration_bins(score, y)
    plt, fig, ax = _fig(4.8, 4.2)
    top = float(max(t["hi"].max(), t["predicted"].max())) * 1.05
    ax.plot([0, top], [0, top], ls="--", c="grey", lw=1, label="perfect calibration")
    ax.errorbar(t["predicted"], t["observed"], yerr=[t["observed"] - t["lo"],
                t["hi"] - t["observed"]], fmt="o", c="#1f4e79", label="observed (95% CI)")
    ax.set(xlabel="mean predicted probability (decile)", ylabel="observed rate of serious harm",
           xlim=(0, top), ylim=(0, top))
    ax.legend(loc="upper left", fontsize=8)
    return _uri(plt, fig)


def at_k(score, y, ks) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of the top-k by score (ties broken by order) for each k."""
    order = np.argsort(-np.asarray(score, float), kind="stable")
    hits = np.cumsum(np.asarray(y, float)[order])
    ks = np.asarray(ks)
    total = hits[-1] if len(hits) else 0
    return hits[ks - 1] / ks, hits[ks - 1] / total if total else np.full(len(ks), np.nan)


def precision_recall_at_k_plot(evaluation: pd.DataFrame, systems, label="serious_harm",
                               k_marker: int | None = None) -> str:
    n = len(evaluation)
    kmax = min(n, max(3 * (k_marker or 100), 300))
    ks = np.arange(1, kmax + 1)
    plt, fig, (a1, a2) = _fig(9, 3.6, ncols=2)
    for s in systems:
        p, r = at_k(evaluation[s].fillna(-np.inf), evaluation[label], ks)
        lw = 2.2 if s == "model" else 1.2
        a1.plot(ks, p, lw=lw, label=s)
        a2.plot(ks, r, lw=lw, label=s)
    for ax, name in ((a1, "precision at k"), (a2, "recall at k")):
        if k_marker:
            ax.axvline(k_marker, c="grey", ls=":", lw=1)
        ax.set(xlabel="k (people reviewed, highest score first)", ylabel=name)
    a2.legend(fontsize=8)
    return _uri(plt, fig)


def stability_plot(table: pd.DataFrame, metrics) -> str:
    plt, fig, ax = _fig(6.4, 3.4)
    for m in metrics:
        ax.plot(pd.to_datetime(table["as_of"]), table[m], marker="o", label=m)
    ax.set(xlabel="as of", ylabel="value")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _uri(plt, fig)


def ratio_plot(table: pd.DataFrame, metric: str = "selection_rate") -> str:
    """Ratio to overall by group with intervals; the 0.8-1.25 band shaded; small groups hollow."""
    t = table[(table["metric"] == metric) & (table["group"] != OVERALL)].reset_index(drop=True)
    plt, fig, ax = _fig(6.4, 0.6 + 0.28 * max(len(t), 1))
    ax.axvspan(FLAG_LOW, FLAG_HIGH, color="#e8f1e8")
    ax.axvline(1, c="grey", lw=1)
    ypos = np.arange(len(t))[::-1]
    for y, r in zip(ypos, t.itertuples(), strict=True):
        if np.isfinite(r.ratio):
            ax.errorbar(r.ratio, y, xerr=[[max(r.ratio - r.ratio_lo, 0)],
                        [max(r.ratio_hi - r.ratio, 0)]] if np.isfinite(r.ratio_lo) else None,
                        fmt="o", mfc="white" if r.small else "#1f4e79", c="#1f4e79")
    ax.set_yticks(ypos, [f"{r.attribute}: {r.group}" + (" (small)" if r.small else "")
                         for r in t.itertuples()], fontsize=8)
    ax.set_xlabel(f"{metric.replace('_', ' ')}: ratio to overall")
    return _uri(plt, fig)
