"""Label families: the outcome definition as a named, versioned choice.

Why: which offences count as "serious harm" is a policy decision (and the literature moves), and a
model trained to foresee one definition must never be ranked against a model trained on another
as if they answered the same question. An experiment names its family (``[outcome] family``);
the family fixes the offence list, the run records it (``config.label_family``), MLflow tags it
(``label_family``) and ``riskcohort compare`` keeps families apart. A family's meaning never
changes: a new definition is a new name (``_v2``).

Families:

- ``serious_harm_v1``: the contract's default serious harm (homicide, attempted murder, GBH with
  intent, GBH) - the current definition;
- ``serious_harm_strangulation_v1``: the same plus non-fatal strangulation (offence
  ``strangulation``), a recognised marker of escalation towards homicide in intimate-partner abuse.

Threats-to-life records (Osman warnings / threat-to-life notices) would make a third family, but the
data contract (v1.1) does not carry them (``threats_to_kill`` is an offence of words, not a
police threat-to-life assessment), so no such family is offered. ``domestic_only`` and the horizon
stay separate settings. An explicit ``serious_offences`` list without a family must equal a
family's list, else the family is recorded as ``custom:<offences>``.

>>> resolve({}, "x")
('serious_harm_v1', ('homicide', 'attempted_murder', 'gbh_with_intent', 'gbh'))
>>> resolve({"family": "serious_harm_strangulation_v1"}, "x")[1][-1]
'strangulation'
>>> resolve({"serious_offences": ["gbh", "homicide"]}, "x")[0]
'custom:gbh+homicide'
"""

from __future__ import annotations

from riskcohort.contract.schema import OFFENCES, SERIOUS_HARM_OFFENCES
from riskcohort.errors import UserError, examples

DEFAULT_FAMILY = "serious_harm_v1"
FAMILIES: dict[str, tuple[str, ...]] = {
    "serious_harm_v1": SERIOUS_HARM_OFFENCES,
    "serious_harm_strangulation_v1": (*SERIOUS_HARM_OFFENCES, "strangulation"),
}


def family_of(offences) -> str:
    """The family whose offence list is ``offences`` (any order), else ``custom:<sorted>``."""
    wanted = set(offences)
    for name, members in FAMILIES.items():
        if set(members) == wanted:
            return name
    return "custom:" + "+".join(sorted(wanted))


def resolve(outcome: dict, where: str) -> tuple[str, tuple[str, ...]]:
    """(family, serious offences) of an ``[outcome]`` section; a ``UserError`` when they
    disagree, the family is unknown or an offence is not in the contract."""
    family = outcome.get("family")
    offences = outcome.get("serious_offences")
    if offences is not None:
        bad = [o for o in offences if o not in OFFENCES]
        if bad:
            raise UserError(f"{where}, key outcome.serious_offences: rule 'contract offence', "
                            f"got {examples(bad)}")
    if family is None:
        if offences is None:
            return DEFAULT_FAMILY, FAMILIES[DEFAULT_FAMILY]
        return family_of(offences), tuple(offences)
    family = str(family)
    if family not in FAMILIES:
        raise UserError(f"{where}, key outcome.family: rule 'a known label family', got "
                        f"{family!r}; known: {examples(list(FAMILIES))} (threats-to-life records "
                        "are not in the data contract)")
    if offences is not None and set(offences) != set(FAMILIES[family]):
        raise UserError(f"{where}, keys outcome.family and outcome.serious_offences: rule 'one "
                        f"outcome definition': family {family!r} means {examples(FAMILIES[family])}"
                        f" but serious_offences lists {examples(offences)}; keep one of them")
    return family, FAMILIES[family]
