"""GX suites come from the schema and catch what the row rules are meant to remove."""

from __future__ import annotations

import pandas as pd

from riskcohort.contract.expectations import expectation_specs, run_expectations
from riskcohort.contract.schema import TABLES


def test_specs_cover_every_schema_rule():
    for table in TABLES.values():
        specs = expectation_specs(table, list(table.names))
        kinds = [(cls, kw.get("column")) for cls, kw in specs]
        for col in table.columns:
            assert ("ExpectColumnToExist", col.name) in kinds
            assert (("ExpectColumnValuesToNotBeNull", col.name) in kinds) == (not col.nullable)
            assert (("ExpectColumnValuesToBeInSet", col.name) in kinds) == bool(col.values)
        assert ("ExpectColumnValuesToBeUnique", table.key) in kinds
        pairs = [kw for cls, kw in specs if cls == "ExpectColumnPairValuesAToBeGreaterThanB"]
        assert len(pairs) == len(table.order_rules)


def _custody(kind="remand", end="2018-06-01"):
    return pd.DataFrame(
        {
            "custody_id": pd.Series(["C1", "C2"], dtype="str"),
            "person_id": pd.Series(["P1", "P2"], dtype="str"),
            "start_date": pd.to_datetime(["2018-01-01", "2018-01-01"]).astype("datetime64[ns]"),
            "end_date": pd.to_datetime([end, None]).astype("datetime64[ns]"),
            "kind": pd.Series([kind, "sentence"], dtype="str"),
        }
    )


def test_gx_telemetry_off():
    import os

    import great_expectations as gx

    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    assert context.config.analytics_enabled is False


def test_gx_passes_typed_rows_and_fails_bad_ones(tmp_path):
    good, index = run_expectations({"custody": (TABLES["custody"], _custody())}, tmp_path / "a")
    assert good["custody"]["success"] is True and good["custody"]["failed"] == []
    assert index.is_file()
    frames = {"custody": (TABLES["custody"], _custody(kind="holiday", end="2017-01-01"))}
    bad, _ = run_expectations(frames, tmp_path / "b")
    assert bad["custody"]["success"] is False
    failed = " ".join(bad["custody"]["failed"])
    assert "in_set(kind)" in failed and "greater_than_b" in failed


def test_interventions_suite_from_the_schema():
    """v1.1 interventions get GX expectations like every table (generated, never hand-written)."""
    from riskcohort.contract.expectations import expectation_specs
    from riskcohort.contract.schema import INTERVENTION_KINDS, TABLES

    table = TABLES["interventions"]
    specs = expectation_specs(table, list(table.names))
    assert ("ExpectColumnValuesToBeUnique", {"column": "intervention_id"}) in specs
    assert ("ExpectColumnValuesToBeInSet",
            {"column": "kind", "value_set": list(INTERVENTION_KINDS)}) in specs
    pairs = {(kw["column_A"], kw["column_B"]) for name, kw in specs
             if name == "ExpectColumnPairValuesAToBeGreaterThanB"}
    assert pairs == {("end_date", "start_date"), ("end_recorded_at", "recorded_at")}


def test_validated_tables_do_not_outlive_validation(tmp_path):
    """GX keeps its last context process-wide and the context's batches hold every validated
    frame: a national dataset (GBs) stayed alive until the process ended (issue 22)."""
    import gc
    import weakref

    from riskcohort.contract.schema import TABLES

    frame = _custody()
    alive = weakref.ref(frame)
    run_expectations({"custody": (TABLES["custody"], frame)}, tmp_path / "docs")
    del frame
    gc.collect()
    assert alive() is None
