"""The adapter prefers riskcohort.explain.explain_person and falls back to the run folder."""

from __future__ import annotations

import pytest

from riskcohort.app import explain_adapter
from riskcohort.app.rundata import load_runs
from riskcohort.app.synthetic import build_run


@pytest.fixture
def model_run(tmp_path):
    run = build_run(tmp_path / "run", n=40, k=5, report=False)
    (run / "model").mkdir()
    (run / "model" / "model.txt").write_text("not a real model")
    return load_runs([run]).current


def test_uses_explain_person_when_available(model_run, monkeypatch):
    from riskcohort.explain.person import PersonExplanation, WhatIf
    from riskcohort.explain.reasons import Reason

    calls = []

    def fake(run, pid, dataset=None, **kw):
        calls.append(pid)
        r = Reason("da_count_365d", "DA incidents", 3.0, "3", 0.8, 4.2, "3 incidents last year")
        w = WhatIf("da_count_365d", "DA incidents", "3", 1.0, "1", 0.1, 20, -5.0, 19)
        return PersonExplanation(pid, "2026-01-01", 0.3, 1, "high", True, 40, 0.1, 0.1,
                                 [r], [], {"da_count_365d": [{"record_id": "I1"}]}, [w], ["n"])

    monkeypatch.setattr("riskcohort.explain.person.explain_person", fake)
    monkeypatch.setattr(explain_adapter, "_runfolder", lambda it: object())
    explain_adapter._cached.cache_clear()
    pid = model_run.scores.index[0]
    view = explain_adapter.person_view(model_run, pid)
    assert calls == [pid] and view.source == "explain"
    assert view.reasons_up[0]["text"] == "3 incidents last year"
    assert view.reasons_up[0]["effect"] == "+4.2 pp"
    assert view.sensitivity[0]["rank_change"] == 19
    # the run folder's own evidence file wins when present (no source data needed)
    assert view.evidence == model_run.person_evidence(pid)


def test_evidence_for_every_indicator_from_source_data(model_run, monkeypatch):
    from riskcohort.explain.person import PersonExplanation

    def fake(run, pid, dataset=None, **kw):
        assert kw.get("with_evidence") is False
        return PersonExplanation(pid, "2026-01-01", 0.3, 1, "high", True, 40, 0.1, 0.1, [], [],
                                 {}, [], [])

    asked = {}

    def fake_evidence(run, data, pid, as_of, indicators):
        asked["indicators"] = indicators
        return {"da_count_365d": [{"record_id": "I9"}], "harm_365d": []}, ["note"]

    monkeypatch.setattr("riskcohort.explain.person.explain_person", fake)
    monkeypatch.setattr("riskcohort.explain.provenance.evidence_for", fake_evidence)
    monkeypatch.setattr(explain_adapter, "_runfolder", lambda it: object())
    monkeypatch.setattr(explain_adapter, "_dataset", lambda it: object())
    monkeypatch.setattr(model_run, "evidence", None)  # no evidence.parquet: use source data
    explain_adapter._cached.cache_clear()
    view = explain_adapter.person_view(model_run, model_run.scores.index[2])
    assert asked["indicators"] == list(model_run.features.columns)
    assert view.evidence == {"da_count_365d": [{"record_id": "I9"}]} and "note" in view.notes


def test_falls_back_when_explain_fails(model_run):
    explain_adapter._cached.cache_clear()
    pid = model_run.scores.index[1]
    view = explain_adapter.person_view(model_run, pid)  # model.txt is not a real model
    assert view.source == "run folder"
    assert any("could not be used" in n for n in view.notes)
    terms = model_run.person_terms(pid)
    assert [r["indicator"] for r in view.reasons_up] == [t[0] for t in terms if t[2] > 0][:5]
