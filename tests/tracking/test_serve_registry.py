"""``serve --model champion`` from the registry alone (issue 15.2).

A small run is logged and registered (first model: champion), then its run folder is deleted:
the served folder is rebuilt from the registered model's MLflow artifacts into the work folder's
cache, verified by the run-folder reader, and the review app shows the cohort from it.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskcohort import runfolder
from riskcohort.app.commands import resolve_model
from riskcohort.app.db import open_db
from riskcohort.app.rundata import load_runs
from riskcohort.app.users import add_user
from riskcohort.app.web import Settings, create_app
from riskcohort.errors import UserError
from riskcohort.runfolder import layout as L
from riskcohort.tracking.iteration import log_iteration
from riskcohort.workflow import champion
from tests.app.apptest_helpers import PASSWORD, login
from tests.tracking.tracking_data import run_copy


@pytest.fixture
def registered(tmp_path, store_uri):
    """(work folder, run folder, MLflow run id, scores) of a logged, registered small run."""
    work = tmp_path / "work"
    run = run_copy(work / "runs" / "iteration-1")
    run_id = log_iteration(run, tracking_uri=store_uri)
    scores = pd.read_csv(run / L.SCORES, dtype={"person_id": str})
    return work, run, run_id, scores


def _cohort_page(path, tmp_path) -> str:
    engine = open_db(f"sqlite:///{tmp_path / 'app.db'}")
    add_user(engine, "dapst", "dapst", PASSWORD)
    app = create_app(load_runs([path]), engine, Settings(use_explain=False))
    with TestClient(app) as client:
        assert login(client, "dapst").status_code == 303
        page = client.get("/cohort")
    engine.dispose()
    assert page.status_code == 200, page.text[:500]
    return page.text


def test_champion_served_from_registry_when_run_folder_deleted(registered, store_uri, tmp_path):
    work, run, run_id, scores = registered
    assert resolve_model("champion", work, store_uri) == run  # still there: served as is
    assert not (work / champion.CACHE_DIR).exists()
    shutil.rmtree(run)

    path = resolve_model("champion", work, store_uri)

    assert path.is_relative_to(work / champion.CACHE_DIR), path
    copy = runfolder.open_run(path)  # verified: schema, complete, every sha256
    assert copy.manifest.mlflow_run_id == run_id
    assert copy.features is not None and copy.evaluation is not None
    served = copy.scores.sort_values("rank")
    assert served["person_id"].tolist() == scores.sort_values("rank")["person_id"].tolist()
    html = _cohort_page(path, tmp_path)
    top = scores.sort_values("rank")["person_id"].iloc[:3]
    assert all(pid in html for pid in top), "the cohort page lists the champion's top people"
    assert resolve_model("champion", work, store_uri) == path  # the copy is reused
    (path / L.SCORES).write_text("person_id,score\nX,1\n")  # a damaged copy is not served
    again = resolve_model("champion", work, store_uri)
    assert runfolder.verify_run(again).mlflow_run_id == run_id


def test_moved_folder_and_bad_download(registered, store_uri, tmp_path, monkeypatch):
    work, run, run_id, _ = registered
    shutil.move(run, tmp_path / "elsewhere")  # moved out of the work folder: a stale tag
    real = champion._download_run

    def corrupt(rid, uri, dst):  # the store hands back a file that is not what was logged
        arts = real(rid, uri, dst)
        (arts / champion.RUN_FOLDER_PATH / L.FEATURES).write_bytes(b"not parquet")
        return arts

    monkeypatch.setattr(champion, "_download_run", corrupt)
    with pytest.raises(UserError, match="features.parquet differs from its sha256"):
        resolve_model("champion", work, store_uri)
    cache = work / champion.CACHE_DIR
    assert not (cache / "da-threat-to-life-v1").exists()
    assert not [p.name for p in cache.iterdir()], "no staging or download left behind"
    monkeypatch.setattr(champion, "_download_run", real)
    path = resolve_model("champion", work, store_uri)
    assert path == cache / "da-threat-to-life-v1"
    assert runfolder.verify_run(path).mlflow_run_id == run_id
