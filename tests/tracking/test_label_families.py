"""Label families: [outcome] family names the outcome definition; conflicts are refused."""

from __future__ import annotations

import pytest

from riskcohort.errors import UserError
from riskcohort.modelling.config import load_experiment


def _exp(tmp_path, outcome: str):
    p = tmp_path / "e.toml"
    p.write_text(f'[experiment]\nname = "t"\ndata = "d"\n[outcome]\n{outcome}\n')
    return load_experiment(p)


def test_default_and_named_families(tmp_path):
    cfg = _exp(tmp_path, "horizon_days = 365")
    assert cfg.label_family == "serious_harm_v1" and "strangulation" not in cfg.serious_offences
    cfg = _exp(tmp_path, 'family = "serious_harm_strangulation_v1"')
    assert cfg.label_family == "serious_harm_strangulation_v1"
    assert "strangulation" in cfg.serious_offences and "gbh" in cfg.serious_offences
    assert cfg.as_dict()["label_family"] == "serious_harm_strangulation_v1"  # into run.json


def test_offence_list_maps_to_family_or_custom(tmp_path):
    cfg = _exp(tmp_path, 'serious_offences = ["gbh", "gbh_with_intent", "attempted_murder", '
                         '"homicide"]')
    assert cfg.label_family == "serious_harm_v1"
    assert _exp(tmp_path, 'serious_offences = ["gbh"]').label_family == "custom:gbh"


@pytest.mark.parametrize(("outcome", "words"), [
    ('family = "threats_to_life_v1"', ["outcome.family", "threats_to_life_v1", "not in the data"]),
    ('family = "serious_harm_v1"\nserious_offences = ["gbh"]', ["one outcome definition"]),
])
def test_unknown_or_conflicting_family_is_refused(tmp_path, outcome, words):
    with pytest.raises(UserError) as err:
        _exp(tmp_path, outcome)
    for word in words:
        assert word in str(err.value)
