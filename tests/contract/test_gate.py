"""The quarantine gate: counts per table, and a stop above the bound naming table/rule/examples."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from riskcohort.contract import gate, load_dataset
from riskcohort.errors import UserError
from tests.contract.contract_data import N_INCIDENTS, valid_tables, write_dataset


def _bad_dates(tmp_path, n_bad: int):
    tables = valid_tables()
    for row in tables["incidents"][:n_bad]:
        row["recorded_at"] = "31/12/2020"  # dd/mm/YYYY: not the contract's ISO date
    return load_dataset(write_dataset(tmp_path / "d", tables), report_dir=tmp_path / "rep",
                        data_docs=False)


def test_counts_per_table_and_pass_under_bound(tmp_path):
    ds = _bad_dates(tmp_path, 1)
    counts = gate.enforce(ds.report, 0.10)  # 1 of 20 = 5% <= 10%
    inc = counts["incidents"]
    assert (inc.read, inc.quarantined) == (N_INCIDENTS, 1)
    assert inc.accepted == N_INCIDENTS - 1 and inc.required
    assert "incidents 19/20 (1 quarantined)" in gate.summary_line(counts)
    assert gate.record(counts)["incidents"] == {"read": 20, "accepted": 19, "quarantined": 1}


def test_stop_above_default_bound_names_table_rule_column_examples(tmp_path):
    ds = _bad_dates(tmp_path, 2)  # 10% > 1%
    with pytest.raises(UserError) as info:
        gate.enforce(ds.report)
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "incidents.csv" in msg and "2 of 20" in msg and "invalid_type" in msg
    assert "'recorded_at'" in msg and "31/12/2020" in msg and "1.0%" in msg
    assert "Nothing was trained" in msg


def test_clean_data_passes_default_bound(tmp_path):
    ds = _bad_dates(tmp_path, 0)
    assert all(c.quarantined == 0 for c in gate.enforce(ds.report).values())


def test_bound_from_experiment_and_override():
    cfg = SimpleNamespace(raw={"data": {"max_quarantine": 0.2}}, path="e.toml")
    assert gate.configured_bound(cfg) == 0.2
    assert gate.configured_bound(cfg, 0.05) == 0.05
    assert gate.configured_bound(None) == gate.DEFAULT_MAX_QUARANTINE
    with pytest.raises(UserError, match="data.max_quarantine"):
        gate.configured_bound(SimpleNamespace(raw={"data": {"max_quarantine": 3}}, path="e"))
    with pytest.raises(UserError, match="--max-quarantine"):
        gate.configured_bound(None, -0.1)


def test_bound_read_from_experiment_toml(tmp_path):
    from riskcohort.modelling.config import load_experiment

    toml = tmp_path / "e.toml"
    toml.write_text('[experiment]\nname = "e"\ndata = "."\n[data]\nmax_quarantine = 0.05\n')
    assert gate.configured_bound(load_experiment(toml)) == 0.05
    toml.write_text('[experiment]\nname = "e"\ndata = "."\n[data]\nmax_quarantine = "lots"\n')
    with pytest.raises(UserError, match="data.max_quarantine"):
        load_experiment(toml)
