"""``riskcohort data update``: a new dataset version from a small synthetic force and an extract
with one GBH downgraded to ABH and one attempted murder recorded late."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.io import sha256_file
from riskcohort.simulate.api import simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base") / "small"
    simulate(out, preset="small", seed=0)
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _in_population(inc: pd.DataFrame, pid: str, when: pd.Timestamp) -> bool:
    """Had a domestic incident recorded in the year before ``when`` (in the 5-year lookback)."""
    own = inc[(inc.perpetrator_id == pid) & inc.domestic.fillna(False).astype(bool)]
    year = (own.recorded_at < when) & (own.recorded_at >= when - pd.Timedelta(days=365))
    return bool(year.any())


def _extract(base: Path, out: Path) -> dict:
    """A GBH downgraded to ABH and an attempted murder that occurred in 2024, recorded late."""
    inc = pd.read_parquet(base / "incidents.parquet")
    dom = inc[inc.domestic.fillna(False).astype(bool)]
    serious = inc[inc.offence.isin(["homicide", "attempted_murder", "gbh_with_intent", "gbh"])
                  & inc.domestic.fillna(False).astype(bool)]
    window = dom[(dom.offence == "gbh") & (dom.occurred_at > "2023-06-01")
                 & (dom.occurred_at < "2025-06-01")]
    # a GBH whose perpetrator has no other serious harm within a year of it (so labels flip)
    gbh = next(r for r in window.itertuples()
               if _in_population(inc, r.perpetrator_id, r.occurred_at)
               and not ((serious.perpetrator_id == r.perpetrator_id)
                        & (serious.incident_id != r.incident_id)
                        & ((serious.occurred_at - r.occurred_at).abs() < pd.Timedelta(days=400))
                        ).any())
    when = pd.Timestamp("2024-06-15 22:00:00")
    quiet = set(serious.perpetrator_id)
    pid = next(p for p in dom.perpetrator_id.unique()
               if p not in quiet and _in_population(inc, p, pd.Timestamp("2023-07-01"))
               and _in_population(inc, p, when))
    row_gbh = inc[inc.incident_id == gbh.incident_id].assign(offence="abh")
    late = inc[inc.perpetrator_id == pid].iloc[[0]].assign(
        incident_id="LATE0001", offence="attempted_murder", occurred_at=when,
        recorded_at=inc.recorded_at.max() + pd.Timedelta(days=3), order_id=None)
    out.mkdir(parents=True)
    pd.concat([row_gbh, late]).to_parquet(out / "incidents.parquet", index=False)
    return {"gbh": gbh.incident_id, "gbh_person": gbh.perpetrator_id,
            "gbh_at": pd.Timestamp(gbh.occurred_at), "late_person": pid, "late_at": when}


@pytest.fixture(scope="module")
def updated(base, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("update")
    facts = _extract(base, tmp / "extract")
    before = (_hashes(base), _hashes(tmp / "extract"))
    result = runner.invoke(app, ["data", "update", str(base), str(tmp / "extract"),
                                 "--out", str(tmp / "v2")])
    assert result.exit_code == 0, result.output
    assert (_hashes(base), _hashes(tmp / "extract")) == before  # inputs never modified
    return tmp / "v2", facts


def test_counts_and_reclassified(updated):
    out, facts = updated
    changes = json.loads((out / "changes.json").read_text())
    assert changes["counts"]["incidents"] == {"added": 1, "replaced": 1, "removed": 0}
    assert changes["counts"]["persons"] == {"added": 0, "replaced": 0, "removed": 0}
    assert changes["reclassified"] == [{"table": "incidents", "id": facts["gbh"],
                                        "column": "offence", "old": "gbh", "new": "abh"}]
    inc = pd.read_parquet(out / "incidents.parquet")
    assert inc.loc[inc.incident_id == facts["gbh"], "offence"].tolist() == ["abh"]
    assert "LATE0001" in set(inc.incident_id)
    assert (out / "changes.md").read_text().count(facts["gbh"]) == 1


def _expected_snapshots(base: Path, pid: str, at: pd.Timestamp, first: str,
                        last: str) -> list[str]:
    """Monthly snapshots T with T <= at < T + 365 days, within the compared range, where the
    person is scored (a domestic incident recorded in the 5 years before T; alive at T)."""
    inc = pd.read_parquet(base / "incidents.parquet")
    persons = pd.read_parquet(base / "persons.parquet").set_index("person_id")
    death = pd.Timestamp(persons.at[pid, "death_date"]) if pid in persons.index else pd.NaT
    own = inc[(inc.perpetrator_id == pid) & inc.domestic.fillna(False).astype(bool)].recorded_at
    snaps = pd.date_range(first, last, freq="MS")
    return [str(t.date()) for t in snaps if t <= at < t + pd.Timedelta(days=365)
            and ((own < t) & (own >= t - pd.Timedelta(days=1825))).any()
            and (pd.isna(death) or death > t)]


def test_label_flips(updated, base):
    out, facts = updated
    changes = json.loads((out / "changes.json").read_text())
    s = changes["label_settings"]
    flips = changes["label_flips"]
    down = [f for f in flips if f["person_id"] == facts["gbh_person"]]
    up = [f for f in flips if f["person_id"] == facts["late_person"]]
    assert {(f["old"], f["new"]) for f in down} == {(1, 0)}
    assert {(f["old"], f["new"]) for f in up} == {(0, 1)}
    # the late record counts: new labels use incidents recorded before the new training as-of
    assert [f["as_of"] for f in up] == _expected_snapshots(
        base, facts["late_person"], facts["late_at"], s["first_snapshot"], s["last_snapshot"])
    assert [f["as_of"] for f in down] == _expected_snapshots(
        base, facts["gbh_person"], facts["gbh_at"], s["first_snapshot"], s["last_snapshot"])
    assert up and down
    assert len(flips) == len(up) + len(down)
    assert s["persons_recomputed"] == 2


def test_lineage(updated, base):
    from riskcohort.contract import load_dataset

    out, _ = updated
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["fingerprint"] == load_dataset(out).fingerprint
    assert manifest["base_fingerprint"] == load_dataset(base).fingerprint
    assert manifest["contract_version"] == "1.1"
    assert manifest["lineage"] == [manifest["base_fingerprint"]]
    # unchanged tables are byte-for-byte the base's
    assert sha256_file(out / "persons.parquet") == sha256_file(base / "persons.parquet")


def test_deletions_and_csv_extract(base, tmp_path):
    inc = pd.read_parquet(base / "incidents.parquet")
    ext = tmp_path / "ext"
    ext.mkdir()
    gone = inc.incident_id.iloc[5]
    pd.DataFrame({"table": ["incidents"], "id": [gone]}).to_csv(ext / "_deletions.csv",
                                                                  index=False)
    row = inc.iloc[[7]].assign(domestic=False)  # a domestic flag removed, sent as CSV text
    row.to_csv(ext / "incidents.csv", index=False)
    result = runner.invoke(app, ["data", "update", str(base), str(ext), "--out",
                                 str(tmp_path / "v3")])
    assert result.exit_code == 0, result.output
    changes = json.loads((tmp_path / "v3" / "changes.json").read_text())
    assert changes["counts"]["incidents"] == {"added": 0, "replaced": 1, "removed": 1}
    new = pd.read_parquet(tmp_path / "v3" / "incidents.parquet")
    assert gone not in set(new.incident_id) and len(new) == len(inc) - 1
    flag = [c for c in changes["reclassified"] if c["column"] == "domestic"]
    assert flag == ([{"table": "incidents", "id": inc.incident_id.iloc[7], "column": "domestic",
                      "old": True, "new": False}] if inc.domestic.iloc[7] else [])


@pytest.mark.parametrize("case", ["version", "type", "clash"])
def test_bad_extract_writes_nothing(base, tmp_path, case):
    inc = pd.read_parquet(base / "incidents.parquet")
    ext = tmp_path / "ext"
    ext.mkdir()
    rows = inc.iloc[:3].copy()
    if case == "version":
        (ext / "dataset.json").write_text(json.dumps({"contract_version": "2.0"}))
        words = ["dataset.json", "contract_version", "2.0"]
    elif case == "type":
        rows["occurred_at"] = ["yesterday", "2024-01-01", "soon"]
        words = ["incidents.parquet", "occurred_at", "column_type_change", "yesterday"]
    else:
        rows["incident_id"] = [rows.incident_id.iloc[0]] * 3
        words = ["incidents.parquet", "incident_id", "unique_key_in_extract",
                 rows.incident_id.iloc[0]]
    rows.to_parquet(ext / "incidents.parquet", index=False)
    before = _hashes(base)
    result = runner.invoke(app, ["data", "update", str(base), str(ext), "--out",
                                 str(tmp_path / "new")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    for word in words:
        assert word in message, message
    assert "Traceback" not in result.output
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ext"]  # no temp folder left
    assert _hashes(base) == before


def test_compare_versions_without_lineage_matches_changes_json(updated, base, tmp_path):
    """retrain compares the champion's data with new data that may be a plain export: the
    primary-key comparison finds the same reclassifications and label flips."""
    import shutil

    from riskcohort.datasets.changes import compare_versions

    out, _ = updated
    plain = Path(shutil.copytree(out, tmp_path / "plain"))
    (plain / "dataset.json").unlink()
    saved = json.loads((out / "changes.json").read_text())
    computed = compare_versions(base, plain)
    assert computed["reclassified"] == saved["reclassified"]
    assert computed["label_flips"] == saved["label_flips"] and saved["label_flips"]
    assert computed["counts"]["incidents"] == saved["counts"]["incidents"]
    assert compare_versions(base, out)["label_flips"] == saved["label_flips"]  # via lineage


def test_mlflow_lineage_tags(updated):
    """A model run on a dataset version shows its fingerprint and its base's in MLflow."""
    from types import SimpleNamespace

    from riskcohort.tracking.naming import lineage_tags

    out, _ = updated
    manifest = json.loads((out / "dataset.json").read_text())
    tags = lineage_tags(SimpleNamespace(data_dir=out))
    assert tags["dataset.fingerprint"] == manifest["fingerprint"]
    assert tags["dataset.base_fingerprint"] == manifest["base_fingerprint"]
    assert lineage_tags(SimpleNamespace(data_dir=out.parent)) == {}
