"""Every headline number of the pack recomputed from the run folder (curves vs table, fairness
"(all)" row vs performance table, cohort share, observed/expected, "no scores" for an absent
incumbent, no absolute path), on a run folder whose metrics come from the modelling stage's own
``evaluate`` (with a tied baseline, the case where curve and table used to disagree)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.governance.gov_fixture import write_run
from tests.governance.headlines import check_headlines


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    from riskcohort import runfolder
    from riskcohort.modelling.metrics import evaluate
    from riskcohort.runfolder import layout as L

    run = write_run(tmp_path_factory.mktemp("headlines"), n=600, k=60, name="iteration-x")
    ev = pd.read_parquet(run / "evaluation.parquet")
    ev = ev.rename(columns={"ilas": "dash_dara"})
    ev["dash_dara"] = ev["dash_dara"].round(0)  # a grade: big ties at every cut-off
    scores = pd.read_csv(run / "scores.csv", dtype={"person_id": str})
    rank = ev[["person_id"]].merge(scores[["person_id", "rank"]], how="left")["rank"]
    res = evaluate(ev["serious_harm"], ev["harm_weight"], ev["homicide"],
                   {"model": ev["model"].to_numpy(), "dash_dara": ev["dash_dara"].to_numpy()},
                   ks=(30, 60, 120), n_boot=30, seed=0, tiebreak={"model": -rank.to_numpy()})
    fields = {f for f in runfolder.Metrics.__dataclass_fields__}
    metrics = runfolder.Metrics(**{k: v for k, v in res.items() if k in fields - {"ks"}},
                                backtest=True, ks=[30, 60, 120],
                                incumbent={"system": "ILAS", "coverage": 0.0, "window_days": 31})
    with runfolder.RunWriter.amend(run) as w:
        w.write_frame(L.EVALUATION, ev)
        w.write_metrics(metrics)
        w.publish()
    return run


def test_every_headline_number_is_the_run_folders(real_run):
    from riskcohort.governance import report

    html = report(real_run, n_boot=30, n_persons=0).read_text(encoding="utf-8")
    assert check_headlines(real_run, html) > 20
    assert "no scores" in html  # the incumbent had none at this date
    assert "DASH/DARA grade" in html and "dash_dara" not in html.split("</nav>")[1].split(
        'id="bias"')[0]
    assert "roc_auc" not in html and "recall@" not in html


def test_the_checker_can_fail(real_run):
    """Break one number in a copy of the pack: the checker must notice."""
    from riskcohort.governance import report

    html = report(real_run, n_boot=30, n_persons=0).read_text(encoding="utf-8")
    broken = html.replace("observed / expected =", "observed / expected ~")
    with pytest.raises(AssertionError):
        check_headlines(real_run, broken)
    share = html.replace(" of 600 scored)", " of 599 scored)")
    with pytest.raises(AssertionError):
        check_headlines(real_run, share)


@pytest.mark.slow
def test_pdf_prints_portrait_a4_with_page_numbers_and_contents(real_run, tmp_path):
    """The printed pack: portrait A4 pages, "Page n of N" in the footer, a table of contents
    whose entries resolve to pages, table headers that repeat (thead) and figures kept whole."""
    weasyprint = pytest.importorskip("weasyprint")
    from riskcohort.governance import report

    html = report(real_run, out=tmp_path / "pack.html", n_boot=20, n_persons=0).read_text()
    assert "@bottom-center" in html and "counter(pages)" in html
    assert "target-counter(attr(href), page)" in html
    assert html.count("<thead>") >= 8 and "thead { display: table-header-group; }" in html
    doc = weasyprint.HTML(string=html).render()
    assert len(doc.pages) >= 8
    for page in doc.pages:  # A4 portrait: 210 x 297 mm at 96 px per inch
        assert abs(page.width - 210 / 25.4 * 96) < 1 and abs(page.height - 297 / 25.4 * 96) < 1
    anchors = {a for page in doc.pages for a in page.anchors}
    assert {"model-card", "performance", "persons", "legal", "signoff"} <= anchors


def test_previous_iteration_by_mlflow_run_id_gives_drift_without_paths(tmp_path):
    """run.json records the previous iteration as an MLflow run id (what `riskcohort run`
    writes: the champion it started from); the pack finds that run's folder through the store
    and measures drift, naming the folder, never the machine's path."""
    from mlflow import MlflowClient

    from riskcohort.governance import report

    work = tmp_path / "work"
    work.mkdir()
    uri = f"sqlite:///{work / 'mlflow.db'}"
    prev = write_run(tmp_path / "runs", n=300, seed=3, as_of="2023-01-01", name="2023-01-01")
    c = MlflowClient(tracking_uri=uri)
    run_id = c.create_run(c.create_experiment("x"), tags={
        "riskcohort.run_dir": str(prev.resolve())}).info.run_id
    cur = write_run(tmp_path / "runs", n=300, seed=3, as_of="2024-01-01", name="2024-01-01",
                    shift=1.0, previous_run=run_id)
    html = report(cur, n_boot=20, n_persons=0, work=work).read_text()
    drift_part = html.split('id="drift"')[1].split('id="legal"')[0]
    assert "Score: PSI" in drift_part and "<code>2023-01-01</code>" in drift_part
    assert str(prev.resolve()) not in html and str(tmp_path) not in html
    # without the store the run id cannot be resolved: said, not an error
    html = report(cur, n_boot=20, n_persons=0).read_text()
    assert "No previous iteration" in html


def test_run_records_the_champion_it_started_from(tmp_path):
    """`riskcohort run` writes run.json previous_run = the registry champion's MLflow run id
    (workflow.run.previous_iteration); no store yet: nothing, and no store is created."""
    from mlflow import MlflowClient

    from riskcohort.workflow.run import previous_iteration

    work = tmp_path / "work"
    assert previous_iteration(None, work) is None
    assert not (work / "mlflow.db").exists()
    work.mkdir()
    uri = f"sqlite:///{work / 'mlflow.db'}"
    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run_id = c.create_run(c.create_experiment("x")).info.run_id
    c.create_registered_model("da-threat-to-life")
    mv = c.create_model_version("da-threat-to-life", source=(tmp_path / "m").as_uri(),
                                run_id=run_id)
    assert previous_iteration(uri) is None  # registered, but no champion yet
    c.set_registered_model_alias("da-threat-to-life", "champion", mv.version)
    assert previous_iteration(uri) == run_id
