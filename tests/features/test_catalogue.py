"""The catalogue and the computed columns describe each other exactly."""

from pathlib import Path

import pandas as pd

import riskcohort.features as features
from riskcohort.contract.schema import PROTECTED_COLUMNS
from riskcohort.features.catalogue import FIELDS, GROUPS, catalogue_text, load_catalogue
from riskcohort.features.engine import indicator_names
from tests.features.feature_data import dataset

REPO = Path(__file__).resolve().parents[2]
FIXED = ("days_since_last_da", "da_count_365d", "da_count_3y", "harm_365d",
         "distinct_victims_3y", "dash_high_12m", "gravity_max_3y", "days_since_last_high_grade")


def _tiny():
    return dataset(incidents=[dict(incident_id="i1", occurred_at="2024-01-01",
                                   recorded_at="2024-01-01", perpetrator_id="p", victim_id="v")])


def test_every_entry_has_a_column_and_every_column_an_entry():
    names = [i.name for i in load_catalogue()]
    assert len(names) == len(set(names)) >= 30
    assert names == indicator_names()
    frame = features.build(_tiny(), ["2024-02-01"])
    assert list(frame.columns[2:]) == names


def test_fields_complete_and_valid():
    for ind in load_catalogue():
        for field in FIELDS:
            value = getattr(ind, field)
            assert value not in (None, "", ()), (ind.name, field)
        assert ind.group in GROUPS
        assert ind.direction in (-1, 0, 1)
        text = ind.reason_text(3.0)
        assert "3" in text and "{" not in text, ind.name


def test_fixed_baseline_names_present():
    names = set(indicator_names())
    assert set(FIXED) <= names


def test_relationship_group_is_the_rel_columns():
    rel = {i.name for i in load_catalogue() if i.group == "relationship"}
    assert rel == {n for n in indicator_names() if n.startswith("rel_")}


def test_repo_copy_identical_to_packaged_catalogue():
    top = REPO / "features" / "indicators.yaml"
    assert top.read_text(encoding="utf-8") == catalogue_text()


def test_protected_attributes_never_indicators():
    names = set(indicator_names())
    for col in PROTECTED_COLUMNS:
        assert not any(col in n.split("_") for n in names)
    data = _tiny()
    base = features.build(data, ["2024-02-01"])
    data["persons"] = data["persons"].assign(sex="female", ethnicity="black")
    changed = features.build(data, ["2024-02-01"])
    assert not (set(base.columns) & PROTECTED_COLUMNS)
    pd.testing.assert_frame_equal(base, changed)


def test_all_indicator_columns_are_float():
    frame = features.build(_tiny(), ["2024-02-01"])
    for name in indicator_names():
        assert frame[name].dtype == "float64", name


def test_plan_transpiles_to_spark_sql():
    """The compiled plan is portable SQL: sqlglot parses it and writes Spark SQL."""
    import sqlglot

    from riskcohort.contract.schema import TABLES
    from riskcohort.features.plan import compile_plan

    plan = compile_plan(tuple(sorted(TABLES)), 1825)
    assert set(plan["aggregate"]) >= {"incidents", "assessments", "orders", "markers"}
    steps = [sql for group in plan["aggregate"].values() for _, sql in group]
    for sql in [plan["population"], *steps, plan["current"]]:
        spark = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
        assert "`pop`" in spark or "`snapshots`" in spark


def test_generated_docs_page_is_current():
    from riskcohort.features.catalogue import catalogue_markdown

    assert (REPO / "docs" / "indicators.md").read_text(encoding="utf-8") == catalogue_markdown()


def test_literature_first_coverage():
    """Every DASH/DARA item, marker, referral and order kind of the contract reaches an indicator
    (issue 16: the catalogue is not fitted to our generator)."""
    from riskcohort.contract.schema import ASSESSMENT_QUESTIONS, TABLES

    names = set(indicator_names())
    for q in ASSESSMENT_QUESTIONS:
        item = q.removeprefix("q_")
        assert {f"ra_{item}_12m", f"ra_{item}_3y"} <= names, item
    for kind in TABLES["markers"].column("kind").values:
        assert f"marker_{kind}" in names, kind
    for kind in TABLES["referrals"].column("kind").values:
        assert f"referral_{kind}" in names, kind
    from riskcohort.features.defs.orders import PROTECTIVE

    order_kinds = set(TABLES["orders"].column("kind").values)
    assert order_kinds == {*PROTECTIVE, "bail_conditions", "other"}
    for base in ("strangulation", "threats_to_kill", "stalking_harassment", "coercive_control"):
        assert {f"{base}_count_365d", f"{base}_count_3y"} <= names, base
    assert {"children_present_3y", "victim_age", "victim_repeat_victimisation_3y",
            "new_intimate_partner_12m", "violence_count_3y", "other_crime_count_3y",
            "possession_count_3y", "in_custody", "days_since_custody_release"} <= names


def test_roles_and_proxy_fields():
    from riskcohort.features.catalogue import ROLES, names_with_role, proxy_risk_names

    cat = {i.name: i for i in load_catalogue()}
    for ind in cat.values():
        assert ind.role in ROLES and isinstance(ind.proxy_risk, bool)
        if ind.role != "risk":
            assert ind.direction == 0, ind.name
        if ind.proxy_risk:
            assert len(ind.proxy_reason) > 20, ind.name
    # police responses are not risk: unconstrained, with the reason in the catalogue
    for name in ("active_protective_orders", "bail_conditions_active", "referral_marac",
                 "referral_mappa", "active_other_orders"):
        assert cat[name].role == "response" and "response" in cat[name].evidence.lower()
    assert names_with_role("intervention") == [
        "currently_managed", "days_since_management_ended", "past_management_periods"]
    assert {"marker_mental_health", "possession_count_3y"} <= set(proxy_risk_names())
    assert "days_since_last_da" not in proxy_risk_names()
    # weak evidence is said, not hidden
    assert "weak" in cat["ra_financial_problems_12m"].evidence.lower()
    assert "June 2022" in cat["strangulation_count_3y"].evidence


def test_inconsistent_entry_is_refused():
    import pytest

    from riskcohort.features.catalogue import _checked

    entry = {f: "x" for f in FIELDS} | {"sources": ["incidents"], "direction": 1,
                                         "role": "response", "proxy_risk": False}
    with pytest.raises(ValueError, match="direction must be 0"):
        _checked(entry)
    with pytest.raises(ValueError, match="proxy_reason"):
        _checked(entry | {"role": "risk", "proxy_risk": True})
