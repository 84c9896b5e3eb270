"""The demo's whole job inside a network namespace with no network at all (``unshare -n``).

Police networks are air-gapped: if any step (Great Expectations, MLflow, SHAP, the report) tried
to reach the internet, it would fail or hang here. The same run is the integration test of the
stages' interfaces: every artefact a user is told about must exist and be coherent.

Cost: the test runs the demo on the ``small`` preset (the suite's time budget); ``make demo``
runs the ``demo`` preset. What only the larger force shows (>= 90 distinct scores in the top 100,
the model's AUC interval above the best rule's) is the manual check in README.md ("Is the model
real?"): the demo prints both figures (``riskcohort.demo.describe_checks``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]


def _offline(cmd: list[str]) -> list[str]:
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is required; `make test` installs it"
    # As root a new network namespace needs no user namespace; otherwise map to root in one.
    return [unshare, "-n", *cmd] if os.geteuid() == 0 else [unshare, "-rn", *cmd]


def test_namespace_really_has_no_network():
    probe = ("import socket\n"
             "try:\n socket.create_connection(('10.255.255.1', 53), timeout=3); print('online')\n"
             "except OSError as e:\n print('offline', e.errno)")
    out = subprocess.run(_offline([sys.executable, "-c", probe]), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("offline")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GX_"))}
    cmd = _offline([sys.executable, "-m", "riskcohort.cli", "demo", "--work", str(work),
                    "--preset", "small"])
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env)
    return work, result


def test_demo_succeeds_offline(demo):
    work, result = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Demo finished" in result.stdout
    assert "Traceback" not in result.stderr


def test_demo_leaves_every_artefact_it_announces(demo):
    work, result = demo
    runs = work / "runs"
    for name in ("iteration-1", "iteration-2"):
        run = runs / name
        for artefact in ("scores.csv", "metrics.json", "run.json", "features.parquet",
                         "explanations.parquet", "evaluation.parquet", "model/model.txt"):
            assert (run / artefact).exists(), f"{run}/{artefact}"
        manifest = json.loads((run / "run.json").read_text())
        assert manifest.get("mlflow_run_id"), "every run is recorded in MLflow"
        scores = pd.read_csv(run / "scores.csv", dtype={"person_id": str})
        assert scores["in_cohort"].sum() == manifest.get("cohort_size", manifest.get("k", 100))
    assert (runs / "iteration-2" / "report.html").exists()
    assert (runs / "iteration-2" / "promotion.md").exists()
    assert (work / "mlflow.db").exists()


def test_demo_registry_has_a_champion(demo):
    work, _ = demo
    from mlflow import MlflowClient

    import riskcohort  # noqa: F401  (telemetry off before mlflow)

    uri = f"sqlite:///{work / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("da-threat-to-life", "champion")
    assert champion.status == "READY"


def test_demo_compares_with_the_incumbent_everywhere(demo):
    """The ILAS file covers both as-of dates: the comparison is in metrics.json, printed by the
    demo, logged to MLflow as a baseline run and shown by ``compare`` (issue 14.6)."""
    work, result = demo
    from mlflow import MlflowClient

    from riskcohort.demo import describe_checks, model_checks

    uri = f"sqlite:///{work / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for name in ("iteration-1", "iteration-2"):
        run = work / "runs" / name
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["incumbent"]["system"] == "ILAS" and metrics["incumbent"]["coverage"] > 0
        assert "roc_auc" in metrics["differences"]["incumbent"], name
        checks = model_checks(run)
        scores = pd.read_csv(run / "scores.csv").nsmallest(100, "rank")
        assert checks["distinct_top"] == scores["score"].nunique()
        assert checks["auc_vs_incumbent"] is not None
        for line in describe_checks(checks):  # what the demo printed is what the run says
            assert " ".join(line.split()) in " ".join(result.stdout.split()), line
        model_run = json.loads((run / "run.json").read_text())["mlflow_run_id"]
        exp = client.get_run(model_run).info.experiment_id
        found = client.search_runs([exp], filter_string="tags.baseline = 'incumbent' and "
                                   f"tags.`riskcohort.model_run_id` = '{model_run}'")
        assert len(found) == 1 and "roc_auc" in found[0].data.metrics, name
    shown = subprocess.run([sys.executable, "-m", "riskcohort.cli", "compare", "--work",
                            str(work)], capture_output=True, text=True, timeout=300,
                           env={**{k: v for k, v in os.environ.items()
                                   # mlflow.set_tracking_uri (earlier tests in this process)
                                   # exports the variable, which would outrank --work
                                   if k != "MLFLOW_TRACKING_URI"}, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "Incumbent" in shown.stdout
