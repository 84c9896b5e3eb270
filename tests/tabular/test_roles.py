import pandas as pd
import pytest

from riskcohort.errors import UserError
from riskcohort.tabular.roles import Roles, check_roles, parse_label, parse_time, read_table


def test_roles_reserve_protected_and_baselines():
    roles = Roles(id="i", label="y", time="t", baselines=("b",), protected=("eth",), drop=("d",))
    assert set(roles.reserved) == {"i", "y", "t", "b", "eth", "d"}


def test_label_words_and_numbers_parse():
    assert parse_label(pd.Series(["yes", "No", "TRUE", "0"]), "y", "f").tolist() == [1, 0, 1, 0]
    assert parse_label(pd.Series([1.0, 0.0]), "y", "f").tolist() == [1, 0]


def test_label_not_binary_names_examples():
    with pytest.raises(UserError, match=r"not binary.*'2'"):
        parse_label(pd.Series(["0", "1", "2"]), "y", "t.csv")


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda f: f.assign(person_ref="P1"), r"duplicated values.*'P1'"),
        (lambda f: f.assign(label=0).pipe(lambda g: g.assign(label=[1] * 5 + [0] * (len(g) - 5))),
         "5 positives"),
    ],
)
def test_bad_ids_and_too_few_positives(table, mutate, pattern):
    with pytest.raises(UserError, match=pattern):
        check_roles(mutate(table.copy()), Roles(id="person_ref", label="label"), "t.csv")


def test_unknown_column_is_named(table):
    with pytest.raises(UserError, match="unknown column.*'nope'"):
        check_roles(table, Roles(id="person_ref", label="label", baselines=("nope",)), "t.csv")


def test_time_that_does_not_parse_is_named():
    with pytest.raises(UserError, match="not dates.*'soon'"):
        parse_time(pd.Series(["2024-01-01", "soon"]), "t", "t.csv")


def test_read_table_rejects_missing_and_unknown(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_table(tmp_path / "x.csv")
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(UserError, match="unsupported"):
        read_table(tmp_path / "x.xlsx")
