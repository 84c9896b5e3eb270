import pandas as pd

from riskcohort.tabular.infer import OTHER, TableTyper


def _plan(table):
    cols = [c for c in table.columns if c not in ("label", "ethnicity", "dash_score")]
    time = pd.to_datetime(table["referral_date"])
    return TableTyper().fit(table[cols], table["label"], time), cols, time


def test_types_are_inferred(table):
    typer, _, _ = _plan(table)
    kinds = {p.name: p.kind for p in typer.plan}
    assert kinds["prior_incidents"] == "numeric"
    assert kinds["strangulation"] == "boolean"
    assert kinds["area"] == "categorical"
    assert kinds["seen_on"] == "date"


def test_leak_identifier_and_constant_are_excluded_with_reasons(table):
    typer, _, _ = _plan(table)
    reasons = {p.name: p.reason for p in typer.excluded}
    assert "leak" in reasons["outcome_copy"]
    assert "identifier" in reasons["person_ref"] and "identifier" in reasons["case_number"]
    assert "constant" in reasons["constant"]
    assert "prior_incidents" not in reasons


def test_rare_levels_are_pooled_and_unseen_levels_go_to_other(table):
    typer, cols, time = _plan(table)
    area = next(p for p in typer.plan if p.name == "area")
    assert "rare1" not in area.levels and "north" in area.levels
    out = typer.transform(table[cols].assign(area="atlantis"), time)
    assert set(out["area"].astype(str)) == {OTHER}


def test_dates_become_elapsed_days_relative_to_time(table):
    typer, cols, time = _plan(table)
    out = typer.transform(table[cols], time)
    expected = (time - pd.to_datetime(table["seen_on"])).dt.days
    assert (out["seen_on"].round() == expected).all()


def test_inference_uses_only_the_rows_it_is_fitted_on(table):
    cols = ["area"]
    train = table.iloc[:1000]
    typer = TableTyper().fit(train[cols], train["label"])
    changed = table.copy()
    changed.loc[1000:, "area"] = "newtown"
    again = TableTyper().fit(changed.iloc[:1000][cols], changed.iloc[:1000]["label"])
    assert typer.describe() == again.describe()
