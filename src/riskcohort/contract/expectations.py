"""Great Expectations suites generated from the schema, run on the accepted rows, as Data Docs.

Why GX at all when the row rules are already enforced in pandas? Governance: a force's data
protection and audit teams know GX Data Docs, and a second, independent implementation of the
same contract double-checks the quarantine (every suite should pass on accepted rows; a failure
means a bug in the row rules, not bad data). The suites are derived from ``schema.py`` in one
place (:func:`suite_for`), never written per table. GX is slow to import, so it only runs when a
report folder asks for Data Docs; its progress bars are switched off, and telemetry is off
because ``riskcohort`` is imported first.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import riskcohort  # noqa: F401  (telemetry off before great_expectations is imported)
from riskcohort.contract.schema import BOOL, DATE, FLOAT, ID, STRING, TIMESTAMP, Table

SITE = "riskcohort"
ID_REGEX = r"\S"  # an id is non-empty text (any non-blank character)


def expectation_specs(table: Table, columns: list[str]) -> list[tuple[str, dict]]:
    """(GX expectation class name, keyword arguments) for one table, from the schema.

    Kept GX-free so it is cheap to test and to list in documentation.

    >>> from riskcohort.contract.schema import TABLES
    >>> specs = expectation_specs(TABLES["custody"], list(TABLES["custody"].names))
    >>> ("ExpectColumnValuesToBeUnique", {"column": "custody_id"}) in specs
    True
    """
    specs: list[tuple[str, dict]] = []
    for col in table.columns:
        if not col.required and col.name not in columns:
            continue
        name = col.name
        specs.append(("ExpectColumnToExist", {"column": name}))
        if not col.nullable:
            specs.append(("ExpectColumnValuesToNotBeNull", {"column": name}))
        if col.type in (ID, STRING) or col.values:
            specs.append(("ExpectColumnValuesToBeOfType", {"column": name, "type_": "str"}))
        if col.type == ID:
            specs.append(("ExpectColumnValuesToMatchRegex", {"column": name, "regex": ID_REGEX}))
        if col.values:
            specs.append(
                ("ExpectColumnValuesToBeInSet", {"column": name, "value_set": list(col.values)})
            )
        # GX names pandas dtypes inconsistently: these spellings are the ones it accepts
        type_list = {
            BOOL: ["BooleanDtype"],
            DATE: ["datetime64[ns]"],
            TIMESTAMP: ["datetime64[ns]"],
            FLOAT: ["float64"],
        }.get(col.type)
        if type_list:
            kwargs = {"column": name, "type_list": type_list}
            specs.append(("ExpectColumnValuesToBeInTypeList", kwargs))
    if table.key:
        specs.append(("ExpectColumnValuesToBeUnique", {"column": table.key}))
    for rule in table.order_rules:
        specs.append(
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": rule.later,
                    "column_B": rule.earlier,
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
            )
        )
    return specs


def suite_for(table: Table, columns: list[str]):
    """A GX ExpectationSuite for ``table`` (named after it)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=table.name)
    for cls_name, kwargs in expectation_specs(table, columns):
        suite.add_expectation(getattr(gxe, cls_name)(**kwargs))
    return suite


def run_expectations(
    frames: dict[str, tuple[Table, pd.DataFrame]], docs_dir: Path
) -> tuple[dict[str, dict], Path]:
    """Run each table's suite on its accepted rows and build Data Docs into ``docs_dir``.

    Returns per-table ``{"evaluated", "successful", "success", "failed"}`` and the index page.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    docs_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)  # belt and braces: GX_ANALYTICS_ENABLED is already false
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name=SITE,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        },
    )
    source = context.data_sources.add_pandas("riskcohort")
    outcome: dict[str, dict] = {}
    for name, (table, frame) in frames.items():
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        suite = context.suites.add(suite_for(table, list(frame.columns)))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite)
        )
        result = definition.run(batch_parameters={"dataframe": frame})
        failed = [_label(r.expectation_config) for r in result.results if not r.success]
        stats = result.statistics
        outcome[name] = {
            "evaluated": int(stats["evaluated_expectations"]),
            "successful": int(stats["successful_expectations"]),
            "success": bool(result.success),
            "failed": failed,
        }
    context.build_data_docs(site_names=[SITE])
    forget_context()
    return outcome, docs_dir / "index.html"


def forget_context() -> None:
    """Drop GX's process-wide reference to the last context.

    Why: ``gx.get_context`` leaves the context in GX's project manager, and an ephemeral
    context's pandas batches hold every validated table, so the loaded dataset outlived the job
    that validated it (GBs at national scale, issue 22). Our contexts are ephemeral and used
    once: nothing else reads the project.
    """
    from great_expectations.data_context.data_context.context_factory import project_manager

    project_manager.set_project(None)


def _label(config) -> str:
    """``expect_x(column)`` or ``expect_x(column_A,column_B)`` for a failed expectation."""
    kw = config.kwargs
    cols = [kw[k] for k in ("column", "column_A", "column_B") if kw.get(k)]
    return f"{config.type}({','.join(cols)})"
