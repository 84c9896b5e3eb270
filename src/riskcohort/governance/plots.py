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


def _uri(plt, fig, tight: bool = True) -> str:
    buf = io.BytesIO()
    if tight:
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
    """Observed vs predicted by score quantile, with Wilson 95% intervals of the observed rate
    (``lo <= observed <= hi`` always, so error bars are never negative)."""
    f = pd.DataFrame({"p": np.asarray(score, float), "y": np.asarray(y, float)})
    f["bin"] = pd.qcut(f["p"].rank(method="first"), bins, labels=False, duplicates="drop")
    g = f.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"),
                             events=("y", "sum"), expected=("p", "sum"))
    z = 1.96
    n = g["n"].clip(lower=1)
    denom = 1 + z**2 / n
    centre = (g["observed"] + z**2 / (2 * n)) / denom
    half = z * np.sqrt(g["observed"] * (1 - g["observed"]) / n + z**2 / (4 * n**2))
    g["lo"] = np.minimum(np.clip(centre - half / denom, 0, 1), g["observed"])
    g["hi"] = np.maximum(np.clip(centre + half / denom, 0, 1), g["observed"])
    return g.reset_index()


def error_bars(value, lo, hi) -> np.ndarray:
    """``[[below], [above]]`` for ``errorbar(yerr=...)``, clipped at 0 (matplotlib refuses
    negative lengths; a bound on the wrong side of its value, e.g. from rounding, draws none)."""
    v, lo, hi = (np.asarray(a, float) for a in (value, lo, hi))
    return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])


def calibration_plot(score, y, title: str = "Calibration: predicted and observed risk by "
                     "decile") -> str:
    """Deciles of predicted risk against the observed rate, on log scales so that the many
    low-risk deciles do not pile up in one corner; a decile with no serious harm is drawn as
    an open triangle on the bottom edge (its rate, 0, has no place on a log scale)."""
    t = calibration_bins(score, y)
    plt, fig, ax = _fig(6.2, 4.9)
    pred = t["predicted"][t["predicted"] > 0]
    seen_lo = t.loc[(t["observed"] > 0) & (t["lo"] > 0), "lo"]
    low = float(pd.concat([pred, seen_lo]).min()) if len(pred) or len(seen_lo) else 1e-4
    floor = max(low / 2, 1e-6)
    xlo = max(float(pred.min()) / 1.4 if len(pred) else floor, 1e-6)
    xhi = float(t["predicted"].max()) * 1.4
    top = float(max(t["hi"].max(), t["predicted"].max())) * 1.5
    ax.plot([min(xlo, floor), max(xhi, top)], [min(xlo, floor), max(xhi, top)], ls="--",
            c="grey", lw=1, label="perfect calibration (observed = predicted)")
    seen = t[t["observed"] > 0]
    if len(seen):
        ax.errorbar(seen["predicted"], seen["observed"],
                    yerr=error_bars(seen["observed"], np.maximum(seen["lo"], floor), seen["hi"]),
                    fmt="o", c="#1f4e79", capsize=3, label="observed rate (95% interval)")
    none = t[t["observed"] <= 0]
    if len(none):
        base = np.full(len(none), floor * 1.05)
        ax.errorbar(none["predicted"], base,
                    yerr=error_bars(base, base, np.maximum(none["hi"], base)),
                    fmt="v", mfc="white", c="#7a8ca3", capsize=3,
                    label="no serious harm observed (bar: 95% upper bound)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlim=(xlo, xhi), ylim=(floor, top))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("predicted probability of serious harm in a year (decile mean, log scale)",
                  fontsize=8)
    ax.set_ylabel("observed rate of serious harm (log scale)", fontsize=8)
    ax.tick_params(labelsize=7, which="both")
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.xaxis.set_minor_formatter(_pct_formatter(minor=True))
    ax.yaxis.set_major_formatter(_pct_formatter())
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return _uri(plt, fig, tight=False)


def _pct_formatter(minor: bool = False):
    """Tick labels as percentages; on a log axis's minor ticks only 2x and 5x are labelled."""
    from matplotlib.ticker import FuncFormatter

    from riskcohort.display import percent

    def label(v, _pos):
        if minor:
            lead = round(v / 10 ** np.floor(np.log10(v)), 6) if v > 0 else 0
            return percent(v) if lead in (2, 5) else ""
        return percent(v)

    return FuncFormatter(label)


def _groups(score: np.ndarray, tiebreak: np.ndarray | None) -> np.ndarray:
    """Tie-group id of each person, 0 = highest score (then ``tiebreak``); NaN ranks last."""
    s = np.where(np.isnan(score), -np.inf, score)
    keys = [s] if tiebreak is None else [np.where(np.isnan(tiebreak), -np.inf, tiebreak), s]
    order = np.lexsort([-k for k in keys])
    sorted_keys = np.column_stack([k[order] for k in keys])
    new = np.r_[True, np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)]
    gid = np.empty(len(s), int)
    gid[order] = np.cumsum(new) - 1
    return gid


def at_k(score, y, ks, tiebreak=None) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of the top-k for each k, the way ``metrics.json`` counts them:
    people with equal scores are never ordered arbitrarily; a tied group at the cut-off
    contributes the share of it that fits (the expectation under random tie-breaking)."""
    score = np.asarray(score, float)
    y = np.asarray(y, float)
    ks = np.asarray(ks)
    gid = _groups(score, None if tiebreak is None else np.asarray(tiebreak, float))
    size = np.bincount(gid)
    hits = np.bincount(gid, weights=y, minlength=len(size))
    end = np.cumsum(size)  # people up to and including each group
    cum_hits = np.cumsum(hits)
    g = np.searchsorted(end, ks, side="left")  # the group holding the k-th person
    before = np.where(g > 0, end[g - 1], 0)
    hits_before = np.where(g > 0, cum_hits[g - 1], 0.0)
    caught = hits_before + (ks - before) * hits[g] / size[g]
    total = y.sum()
    return caught / ks, caught / total if total else np.full(len(ks), np.nan)


def precision_recall_at_k_plot(evaluation: pd.DataFrame, systems, label="serious_harm",
                               k_marker: int | None = None, tiebreak=None, names=None) -> str:
    """Precision and recall at every k up to 3x the cohort, for every ranking; the same
    counting as the performance table (``at_k``), so the curve at k is the table's value."""
    n = len(evaluation)
    kmax = min(n, max(3 * (k_marker or 100), 300))
    ks = np.arange(1, kmax + 1)
    names = names or {}
    plt, fig, (a1, a2) = _fig(7.2, 3.4, ncols=2)
    for s in systems:
        tb = (tiebreak or {}).get(s)
        p, r = at_k(evaluation[s].to_numpy(float), evaluation[label], ks, tb)
        lw = 2.2 if s == "model" else 1.1
        a1.plot(ks, p, lw=lw, label=names.get(s, s))
        a2.plot(ks, r, lw=lw, label=names.get(s, s))
    for ax, name in ((a1, "precision: share of those reviewed\nwho caused serious harm"),
                     (a2, "recall: share of all serious-harm\ncases who were reviewed")):
        if k_marker:
            ax.axvline(k_marker, c="grey", ls=":", lw=1)
        ax.set_xlabel("people reviewed, highest score first (k)", fontsize=8)
        ax.set_ylabel(name, fontsize=8)
        ax.set_ylim(0, min(1.0, ax.get_ylim()[1]) * 1.04)
        ax.yaxis.set_major_formatter(_pct_formatter())
        ax.tick_params(labelsize=7)
    a1.set_title("Precision at k", fontsize=9)
    a2.set_title("Recall at k", fontsize=9)
    handles, labels = a2.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.12 + 0.03 * (len(labels) > 6), 1, 1))
    return _uri(plt, fig, tight=False)


def stability_plot(table: pd.DataFrame, metrics, names=None) -> str:
    plt, fig, ax = _fig(6.4, 3.4)
    for m in metrics:
        ax.plot(pd.to_datetime(table["as_of"]), table[m], marker="o",
                label=(names or {}).get(m, m))
    ax.set(xlabel="scoring date (as of)", ylabel="value (0 to 1)",
           title="The model's metrics at each backtest date")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _uri(plt, fig)


def ratio_plot(table: pd.DataFrame, metric: str = "selection_rate") -> str:
    """Ratio to overall by group with intervals; the 0.8-1.25 band shaded; small groups hollow;
    groups in their natural order (age bands youngest first)."""
    from riskcohort.display import attribute_name, metric_name, natural_order

    t = table[(table["metric"] == metric) & (table["group"] != OVERALL)]
    attr = str(t["attribute"].iloc[0]) if len(t) else ""
    order = {g: i for i, g in enumerate(natural_order(t["group"], attr))}
    t = t.sort_values("group", key=lambda c: c.map(order)).reset_index(drop=True)
    plt, fig, ax = _fig(6.4, 1.1 + 0.28 * max(len(t), 1))
    ax.axvspan(FLAG_LOW, FLAG_HIGH, color="#e8f1e8", label="within 0.8-1.25")
    ax.axvline(1, c="grey", lw=1)
    ypos = np.arange(len(t))[::-1]
    for y, r in zip(ypos, t.itertuples(), strict=True):
        if np.isfinite(r.ratio):
            ax.errorbar(r.ratio, y, xerr=error_bars([r.ratio], [r.ratio_lo], [r.ratio_hi])
                        if np.isfinite(r.ratio_lo) and np.isfinite(r.ratio_hi) else None,
                        fmt="o", mfc="white" if r.small else "#1f4e79", c="#1f4e79")
    ax.set_yticks(ypos, [f"{r.group}" + (" (too small to judge)" if r.small else "")
                         for r in t.itertuples()], fontsize=8)
    what = metric_name(metric) if metric != "selection_rate" else "Selection rate"
    ax.set_xlabel(f"{what}: ratio to everyone (1 = the same; 95% interval)", fontsize=8)
    ax.set_title(f"{what} by {attribute_name(attr).lower()}, relative to everyone", fontsize=9)
    return _uri(plt, fig)
