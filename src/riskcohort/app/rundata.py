"""Run folders loaded once into memory, so cohort and person pages never touch the disk.

The app may be pointed at one run folder or at a folder of run folders (one per iteration, e.g.
monthly scoring runs): iterations are ordered by ``as_of``; the newest is the current one and the
others give each person's rank history and the new/up/down change on the cohort page. Run
folders are read-only inputs, read through :func:`riskcohort.runfolder.open_run` (verified:
an incomplete or modified folder is refused with one message, never served); nothing here
writes to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskcohort import runfolder
from riskcohort.runfolder import layout as L


@dataclass
class Iteration:
    """One scored run folder, indexed for fast per-person lookups."""

    root: Path
    name: str
    as_of: str
    manifest: dict
    scores: pd.DataFrame  # indexed by person_id; score, rank, in_cohort, band, reason1, reason2
    features: pd.DataFrame  # indexed by person_id; indicator columns
    contributions: pd.DataFrame  # person_id, indicator, value, contribution (sorted by person)
    spans: dict[str, tuple[int, int]]  # person_id -> row slice of ``contributions``
    base_value: float
    link: str
    metrics: dict
    bands: list[str]  # highest risk first
    band_floor: dict[str, float]  # cut-off of each band (run.json "bands"; else lowest score)
    evidence: pd.DataFrame | None = None
    descriptions: dict[str, str] = field(default_factory=dict)  # indicator -> plain words
    # (indicator, value) -> reason sentence (catalogue wording)
    reason_text: Callable[[str, float], str] | None = None
    report: Path | None = None
    fairness: list[Path] = field(default_factory=list)
    data_dir: Path | None = None  # the run's input data folder, when recorded
    base_probability: float | None = None  # calibrated probability at the SHAP base value

    @cached_property
    def table(self) -> pd.DataFrame:
        """The cohort page's rows for everyone, in rank order, built once (pages only slice it)."""
        t = self.scores.reset_index().sort_values("rank", kind="stable").reset_index(drop=True)
        t["band_order"] = t["band"].map({b: i for i, b in enumerate(self.bands)})
        t["band"] = pd.Categorical(t["band"], categories=self.bands)
        return t.fillna({"reason1": "", "reason2": ""})

    @cached_property
    def cohort_table(self) -> pd.DataFrame:
        """Rows of the cohort only (the default view)."""
        return self.table[self.table["in_cohort"]].reset_index(drop=True)

    @cached_property
    def _evidence_index(self) -> tuple[dict, list[str], list[np.ndarray]]:
        """person_id -> row positions, and the columns as string arrays (built once)."""
        if self.evidence is None:
            return {}, [], []
        cols = [c for c in self.evidence.columns if c not in ("person_id", "indicator")]
        arrays = [self.evidence[c].astype(str).to_numpy() for c in ["indicator", *cols]]
        return self.evidence.groupby("person_id").indices, cols, arrays

    def person_evidence(self, pid: str) -> dict[str, list[dict]]:
        """Evidence records of a person by indicator (strings, for display)."""
        index, cols, arrays = self._evidence_index
        out: dict[str, list[dict]] = {}
        for i in index.get(pid, ()):
            rec = {c: a[i] for c, a in zip(cols, arrays[1:], strict=True)}
            out.setdefault(arrays[0][i], []).append(rec)
        return dict(sorted(out.items()))

    @cached_property
    def _terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.contributions
        return (c["indicator"].astype(str).to_numpy(), c["value"].to_numpy(dtype=float),
                c["contribution"].to_numpy(dtype=float))

    def person_terms(self, pid: str) -> list[tuple[str, float, float]]:
        """(indicator, value, contribution) of a person, largest contribution first."""
        a, b = self.spans.get(pid, (0, 0))
        ind, val, con = (x[a:b] for x in self._terms)
        order = np.argsort(-con, kind="stable")
        return [(str(ind[i]), float(val[i]), float(con[i])) for i in order]

    def person_contributions(self, pid: str) -> pd.DataFrame:
        """This person's rows of explanations.parquet (empty frame if none)."""
        a, b = self.spans.get(pid, (0, 0))
        return self.contributions.iloc[a:b]


def _labels(names: list[str]) -> tuple[Callable[[str, float], str], dict[str, str]]:
    """(reason wording, descriptions) from explain's labels (the catalogue), else bare names."""
    try:
        from riskcohort.explain.labels import indicator_labels, render_reason
    except ImportError:  # pragma: no cover - explain stage always ships its labels
        return (lambda name, value: f"{name.replace('_', ' ')}: {value:g}"), {}
    labels = indicator_labels(names)
    return (lambda name, value: render_reason(labels[name], value)), {
        n: lab.description for n, lab in labels.items()}


def _top_reasons(contrib: pd.DataFrame, render) -> pd.DataFrame:
    """The two largest positive contributions per person, worded (the cohort page's columns)."""
    up = contrib[contrib["contribution"] > 0].sort_values(
        ["person_id", "contribution"], ascending=[True, False], kind="stable")
    top = up.groupby("person_id", sort=False).head(2).copy()
    top["n"] = top.groupby("person_id").cumcount() + 1
    top["text"] = [render(i, v) for i, v in zip(top["indicator"], top["value"], strict=True)]
    wide = top.pivot(index="person_id", columns="n", values="text")
    return wide.reindex(columns=[1, 2]).rename(columns={1: "reason1", 2: "reason2"})


def _contributions(run: runfolder.RunFolder) -> pd.DataFrame:
    cols = ["person_id", "indicator", "value", "contribution"]
    contrib = run.explanations(cols)
    if contrib is None:
        return pd.DataFrame(columns=cols)
    return contrib.sort_values("person_id", kind="stable").reset_index(drop=True)


def load_iteration(root: str | Path) -> Iteration:
    """Read one verified run folder (``runfolder.open_run``) into memory."""
    run = runfolder.open_run(root)
    manifest = run.manifest
    scores = run.scores.drop_duplicates("person_id").set_index("person_id")
    feats = pd.DataFrame(index=scores.index)
    if run.features is not None:
        feats = run.features.drop(columns=["as_of"]).drop_duplicates("person_id")
        feats = feats.set_index("person_id")
    contrib = _contributions(run)
    pids = contrib["person_id"].to_numpy()
    bounds: Any = np.flatnonzero(np.r_[True, pids[1:] != pids[:-1], True]) if len(pids) else []
    spans = {pids[a]: (int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=False)}
    render, descriptions = _labels(sorted(set(contrib["indicator"]) | set(feats.columns)))
    scores = scores.join(_top_reasons(contrib, render)) if len(contrib) else scores.assign(
        reason1=np.nan, reason2=np.nan)
    order = scores.groupby("band")["score"].mean().sort_values(ascending=False)
    floors = scores.groupby("band")["score"].min().to_dict()
    if manifest.bands:  # the run's own cut-offs (probability thresholds)
        floors = {**{str(k): float(v) for k, v in manifest.bands.items()}, "low": 0.0}
        order = pd.Series(floors).sort_values(ascending=False)
    meta = run.explanation_summary or runfolder.ExplanationSummary()
    attached = run.attachments
    fairness = sorted(p for rel, p in attached.items()
                      if Path(rel).name.startswith("fairness") and rel.endswith(".csv"))
    return Iteration(
        root=run.root, name=run.root.name, as_of=manifest.as_of[:10], manifest=manifest.to_dict(),
        scores=scores, features=feats, contributions=contrib, spans=spans,
        base_value=float(meta.base_value), link=meta.link,
        metrics=run.metrics.to_dict() if run.metrics else {},
        bands=[str(b) for b in order.index], evidence=run.evidence, descriptions=descriptions,
        reason_text=render, band_floor=floors, report=attached.get(L.REPORT_HTML),
        fairness=fairness, data_dir=run.data_dir, base_probability=meta.base_probability)


@dataclass
class RunSet:
    """All loaded iterations, oldest first; ``current`` is the newest."""

    iterations: list[Iteration]

    @property
    def current(self) -> Iteration:
        return self.iterations[-1]

    @property
    def previous(self) -> Iteration | None:
        return self.iterations[-2] if len(self.iterations) > 1 else None

    def history(self, pid: str) -> list[dict]:
        """Rank, score, band and cohort membership of a person in every iteration."""
        out = []
        for it in self.iterations:
            if pid in it.scores.index:
                r = it.scores.loc[pid]
                out.append({"iteration": it.name, "as_of": it.as_of, "rank": int(r["rank"]),
                            "score": float(r["score"]), "band": r["band"],
                            "in_cohort": bool(r["in_cohort"])})
        return out


def change_column(cur: pd.DataFrame, prev: pd.DataFrame | None) -> pd.Series:
    """'new' / 'up' / 'down' / 'same' against the previous iteration ('' when there is none).

    New means not scored before, or now in the cohort but not in it before.
    """
    if prev is None:
        return pd.Series("", index=cur.index)
    prev_rank = prev["rank"].reindex(cur.index)
    prev_in = prev["in_cohort"].reindex(cur.index).fillna(False).astype(bool)
    out = np.where(cur["rank"] < prev_rank, "up", np.where(cur["rank"] > prev_rank, "down",
                                                          "same"))
    out = np.where(prev_rank.isna() | (cur["in_cohort"] & ~prev_in), "new", out)
    return pd.Series(out, index=cur.index)


def load_runs(paths: Sequence[str | Path]) -> RunSet:
    """Load run folders; a path that is not one is searched one level down for run folders."""
    roots: list[Path] = []
    for p in map(Path, paths):
        roots.extend(runfolder.find_runs(p))
    its = sorted((load_iteration(r) for r in roots), key=lambda i: (i.as_of, i.name))
    names = [i.name for i in its]
    if len(set(names)) != len(names):
        for i in its:
            i.name = f"{i.as_of}-{i.root.name}"
    prev = None
    for it in its:
        it.scores["change"] = change_column(it.scores, prev)
        moved = (prev["rank"].reindex(it.scores.index) - it.scores["rank"]) if prev is not None \
            else pd.Series(np.nan, index=it.scores.index)
        it.scores["moved"] = moved.abs().fillna(0).astype(int)  # places up or down
        prev = it.scores
    return RunSet(its)
