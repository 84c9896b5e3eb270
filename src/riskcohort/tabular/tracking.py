"""MLflow record of a tabular run, in the same store and metric names as cohort iterations.

One run for the chosen model and one per baseline (tag ``kind=baseline``), exactly as the event
pipeline does, so MLflow's compare view puts a force's existing score beside riskcohort's.
"""

from __future__ import annotations

import json
from pathlib import Path

from riskcohort.io import write_json
from riskcohort.tracking.metricnames import flatten, metric_name
from riskcohort.tracking.store import client, get_or_create_experiment, resolve_tracking_uri

EXPERIMENT = "tabular"
ARTIFACTS = ("scores.csv", "metrics.json", "types.json", "explanations.parquet",
             "explanations.json")


def log_tabular_run(out_dir, source: str, tracking_uri: str | None = None) -> str:
    """Log the tabular run in ``out_dir``; return the model run's id (also saved in run.json)."""
    out = Path(out_dir)
    metrics = json.loads((out / "metrics.json").read_text())
    uri = resolve_tracking_uri(tracking_uri, work=out.parent)
    c = client(uri)
    exp_id = get_or_create_experiment(c, EXPERIMENT)
    choice = metrics["model_choice"]
    params = {"source": source, "chosen": choice["chosen"], **{
        metric_name("split", k): str(v) for k, v in metrics["split"].items()}}
    params.update({metric_name("param", k): str(v) for k, v in choice["params"].items()})
    run_ids = {}
    for system, cells in metrics["scores"].items():
        kind = "model" if system == "model" else "baseline"
        run = c.create_run(exp_id, run_name=f"tabular-{system}",
                           tags={"kind": kind, "system": system, "mode": "tabular"})
        rid = run.info.run_id
        for key, value in (params if kind == "model" else {"source": source}).items():
            c.log_param(rid, key, value[:6000])
        for key, value in flatten(cells).items():
            c.log_metric(rid, key, value)
        if kind == "model":
            for key, value in flatten(metrics["differences"], "paired").items():
                c.log_metric(rid, key, value)
            for name in ARTIFACTS:
                if (out / name).exists():
                    c.log_artifact(rid, str(out / name))
        c.set_terminated(rid)
        run_ids[system] = rid
    write_json(out / "tracking.json", {"tracking_uri": uri, "runs": run_ids})
    return run_ids["model"]
