"""Compare iterations and baselines, and show how the cohort changed between two iterations.

Why both: the metrics table answers "is iteration 4 better than iteration 3 and than DASH?",
but a public-protection team also needs "who is new on my list, who dropped off, and why", so
that a change of model is reviewed person by person before it is trusted. Runs are named by
MLflow run id or by run folder (its ``run.json`` holds the id).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from riskcohort import runfolder
from riskcohort.errors import UserError
from riskcohort.tracking import metricnames, store

BASE_METRICS = ("roc_auc", "pr_auc")
K_METRICS = ("recall", "precision", "harm")
CALIBRATION = ("ece", "calibration_slope")


def resolve_run_id(ref: str) -> str:
    """A run id from an id or a (verified) run folder path."""
    path = Path(ref)
    if path.is_dir():
        run_id = runfolder.open_run(path).manifest.mlflow_run_id
        if not run_id:
            raise UserError(f"run folder {path}: run.json has no mlflow_run_id (log it first)")
        return run_id
    if re.fullmatch(r"[0-9a-f]{32}", ref):
        return ref
    raise UserError(f"run {ref!r}: not a run folder and not an MLflow run id")


def _runs(c, refs, experiment):
    if refs:
        ids = [resolve_run_id(r) for r in refs]
        models = [c.get_run(i) for i in ids]
        exp_ids = sorted({r.info.experiment_id for r in models})
    else:
        if experiment:
            exp = c.get_experiment_by_name(experiment)
            if exp is None:
                raise UserError(f"experiment {experiment!r} not found in {c.tracking_uri}")
            exp_ids = [exp.experiment_id]
        else:
            exp_ids = [e.experiment_id for e in c.search_experiments()]
        models = c.search_runs(exp_ids, "tags.kind = 'model' and attributes.status = 'FINISHED'",
                               order_by=["attributes.start_time ASC"], max_results=50)
    out = []
    for model in models:
        out.append(model)
        rid = model.info.run_id
        out += c.search_runs(exp_ids, f"tags.`riskcohort.model_run_id` = '{rid}' and "
                             "attributes.status = 'FINISHED'", order_by=["tags.baseline ASC"])
    return out


def metric_columns(runs, k: int | None = None) -> list[str]:
    """Metric names to show: AUCs, recall/precision/harm at the chosen (or smallest logged) k.

    >>> class R:  # minimal stand-in for an MLflow Run
    ...     class data: metrics = {"roc_auc": 1, "recall_at_50": 1, "recall_at_100": 1, "ece": 1}
    >>> metric_columns([R()], k=100)
    ['roc_auc', 'recall_at_100', 'ece']
    """
    names = set().union(*(r.data.metrics for r in runs)) if runs else set()
    ks = sorted({int(m.rsplit("_", 1)[1]) for m in names if re.fullmatch(r"recall_at_\d+", m)})
    k = k if k in ks else (ks[0] if ks else None)
    wanted = [*BASE_METRICS, *(f"{m}_at_{k}" for m in K_METRICS), *CALIBRATION]
    return [m for m in wanted if m in names]


def fmt(metrics: dict, name: str, sep: str = " ") -> str:
    """``value [lo, hi]`` (or ``-``).

    >>> fmt({"a": 0.5, "a_lo": 0.4, "a_hi": 0.61}, "a"), fmt({}, "a")
    ('0.500 [0.400, 0.610]', '-')
    """
    v, lo, hi = metricnames.point_and_interval(metrics, name)
    if v != v:
        return "-"
    return f"{v:.3f}" + (f"{sep}[{lo:.3f}, {hi:.3f}]" if lo == lo and hi == hi else "")


def require_store(tracking_uri=None, work=None) -> None:
    """A reading command must not create a store: a local SQLite store that does not exist is a
    ``UserError`` (nothing created), naming similar folders when ``--work`` looks like a typo."""
    import difflib
    import os

    uri = store.resolve_tracking_uri(tracking_uri, work)
    db = store.sqlite_path(uri)
    if db is None or db.exists():
        return
    folder = db.parent
    near = []
    if folder.parent.is_dir():
        names = [p.name for p in folder.parent.iterdir() if p.is_dir()]
        near = difflib.get_close_matches(folder.name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(str(folder.parent / n) for n in near)}?" if near else ""
    where = "--work" if work else ("$RISKCOHORT_WORK" if os.environ.get("RISKCOHORT_WORK")
                                   else "the default work folder")
    raise UserError(f"tracking store {db}: rule 'an existing store to read': there is no "
                    f"mlflow.db in {folder} ({where}); nothing was created{hint} "
                    "(log runs with `riskcohort run` or `riskcohort track` first)")


def cohort_k(runs) -> int | None:
    """The cohort size the iterations were run with (``k`` / ``config.k`` params), if logged."""
    for r in runs:
        p = r.data.params
        for key in ("k", "config.k"):
            if str(p.get(key, "")).isdigit():
                return int(p[key])
    return None


def label_family(run) -> str:
    """The label family of a model run: tag, else ``config.label_family``, else the family of
    its logged offence list, else the only definition before families existed."""
    import json

    from riskcohort.features.families import DEFAULT_FAMILY, family_of

    tags, params = run.data.tags, run.data.params
    if tags.get("label_family") or params.get("config.label_family"):
        return tags.get("label_family") or params["config.label_family"]
    offences = params.get("config.serious_offences") or params.get("serious_offences")
    if offences:
        try:
            return family_of(json.loads(offences.replace("'", '"')))
        except ValueError:
            pass
    return DEFAULT_FAMILY


def compare_table(refs=(), experiment=None, tracking_uri=None, work=None, k=None):
    """A Rich table: one row per model run and per baseline run, metrics with intervals.

    ``k`` defaults to the iterations' own cohort size. Iterations trained on different label
    families (``features.families``) answer different questions: they are shown in separate
    sections, each headed by its family, never ranked together. Names never wrap mid-word.
    """
    from rich.table import Table

    if not refs or not all(Path(r).is_dir() for r in refs):
        require_store(tracking_uri, work)
    c = store.client(tracking_uri, work)
    runs = _runs(c, list(refs), experiment)
    if not runs:
        raise UserError(f"no finished iterations in {c.tracking_uri} (run `riskcohort run`)")
    models = [r for r in runs if r.data.tags.get("kind") == "model"]
    k = k or cohort_k(models)
    cols = metric_columns(runs, k)
    owner = {r.info.run_id: r.data.tags.get("riskcohort.model_run_id", r.info.run_id)
             for r in runs}
    fam = {m.info.run_id: label_family(m) for m in models}
    families = list(dict.fromkeys(fam.values()))
    title = f"Iterations and baselines ({c.tracking_uri})"
    if len(families) > 1:
        title += (f"\n{len(families)} label families: each section is one outcome definition; "
                  "do not rank iterations across sections")
    else:
        title += f"\nlabel family: {families[0] if families else '-'}"
    from riskcohort import display

    experiments = sorted({r.data.tags.get("experiment", "") for r in runs})
    one_exp = len(experiments) == 1
    if one_exp:
        title += f"; experiment {experiments[0] or '-'}"
    heads = ["run", "id", "kind", *([] if one_exp else ["experiment"]), "as of",
             *(f"{display.metric_name(key)} ({key})"
               for key in (m.replace("_at_", "@") for m in cols))]
    rows: list[list[str]] = []
    for family in families:
        if len(families) > 1:
            rows.append([family, "", "(label family)", *([""] * (len(heads) - 3))])
        for r in runs:
            if fam.get(owner[r.info.run_id]) != family:
                continue
            tags = r.data.tags
            kind = tags.get("kind", "?") + (f":{tags['baseline']}" if "baseline" in tags else "")
            rows.append([r.info.run_name or r.info.run_id[:8], r.info.run_id[:8], kind,
                         *([] if one_exp else [tags.get("experiment", "")]),
                         tags.get("as_of", ""),
                         *(fmt(r.data.metrics, m, "\n") for m in cols)])
    table = Table(title=title)
    for i, head in enumerate(heads):
        # wide enough for the longest word of the column: Rich then wraps at spaces only
        words = [w for cell in [head, *(row[i] for row in rows)] for w in cell.split()]
        table.add_column(head, min_width=max(map(len, words), default=1), overflow="fold")
    for row in rows:
        if row[2] == "(label family)" and rows.index(row):
            table.add_section()
        table.add_row(*row)
    return table


@dataclass
class CohortDiff:
    """Cohort change from run A to run B (frames keyed by person_id)."""

    entered: object
    left: object
    stayed: object
    notes: list[str] = field(default_factory=list)


def _run_frames(ref: str, c, tmp: Path):
    """(scores, explanations or None) of a run: a verified run folder, else the MLflow run's
    artifacts (an id, or a folder's recorded run)."""
    import pandas as pd

    path = Path(ref)
    if path.is_dir():
        run = runfolder.open_run(path)
        return run.scores, run.explanations(["person_id", "indicator", "value", "contribution"])
    import mlflow

    run_id = resolve_run_id(ref)
    dst = tmp / run_id
    dst.mkdir(parents=True)
    found = {}
    for name in (runfolder.layout.SCORES, runfolder.layout.EXPLANATIONS):
        try:
            found[name] = Path(mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=name, dst_path=str(dst),
                tracking_uri=c.tracking_uri))
        except Exception:  # noqa: BLE001 - explanations are optional
            if name == runfolder.layout.SCORES:
                raise UserError(f"run {run_id}: no scores.csv artifact") from None
    scores = pd.read_csv(found[runfolder.layout.SCORES], dtype={"person_id": str})
    expl = found.get(runfolder.layout.EXPLANATIONS)
    return scores, (pd.read_parquet(expl) if expl else None)


def top_reasons(ex, person_ids, n: int = 3) -> dict[str, str]:
    """The ``n`` indicators that raise each person's score most, in the catalogue's plain words.

    ``ex`` is a run's explanations (long format, or None); each reason is the catalogue's
    ``reason`` template filled with the person's value (the sentences ``riskcohort explain``
    prints).
    """
    from riskcohort.explain.labels import indicator_labels, render_reason

    if ex is None or ex.empty:
        return {}
    ex = ex[ex["person_id"].astype(str).isin(set(person_ids)) & (ex["contribution"] > 0)]
    ex = ex.sort_values("contribution", ascending=False)
    labels = indicator_labels(sorted(ex["indicator"].unique()))
    return {str(pid): "; ".join(render_reason(labels[r.indicator], r.value)
                                for r in g.head(n).itertuples())
            for pid, g in ex.groupby(ex["person_id"].astype(str), sort=False)}


def cohort_diff(run_a: str, run_b: str, tracking_uri=None, work=None) -> CohortDiff:
    """Who entered, who left and who stayed (with rank change) between two iterations."""
    import pandas as pd

    needs_store = not all(Path(r).is_dir() for r in (run_a, run_b))
    if needs_store:
        require_store(tracking_uri, work)
    c = store.client(tracking_uri, work) if needs_store else None
    with tempfile.TemporaryDirectory() as tmp:
        (a, _), (b, expl_b) = (_run_frames(r, c, Path(tmp)) for r in (run_a, run_b))
        ca, cb = (s[s["in_cohort"].astype(bool)].set_index("person_id") for s in (a, b))
        entered = cb.loc[~cb.index.isin(ca.index), ["rank", "score", "band"]].sort_values("rank")
        left = ca.loc[~ca.index.isin(cb.index), ["rank", "score", "band"]].sort_values("rank")
        b_rank = b.set_index("person_id")["rank"]
        left["rank_now"] = b_rank.reindex(left.index)
        both = ca.index.intersection(cb.index)
        stayed = pd.DataFrame({"rank_a": ca.loc[both, "rank"], "rank_b": cb.loc[both, "rank"]})
        stayed["change"] = stayed["rank_a"] - stayed["rank_b"]  # positive = moved up
        reasons = top_reasons(expl_b, entered.index)
    notes = [] if reasons else ["explanations not available for run B: reasons not shown"]
    entered["reasons"] = [reasons.get(p, "explanations not available") for p in entered.index]
    return CohortDiff(entered, left, stayed.sort_values("rank_b"), notes)
