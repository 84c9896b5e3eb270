"""The data contract (v1.1), written down once, in code.

Everything that needs to know what a valid input looks like reads this module: the reader
(column types), the row-level validator (nulls, enums, keys, references, time order), the Great
Expectations suites (generated from it) and the synthetic generator (which writes exactly this).
The human-readable source is ``shared/data-contract.md``; ``docs/data-contract-extensions.md``
lists the optional columns riskcohort adds.

>>> TABLES["incidents"].key
'incident_id'
>>> TABLES["persons"].column("sex").values
('female', 'male', 'unknown')
>>> sorted(REQUIRED_TABLES)
['incidents', 'persons']
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column types of the contract. "id" is a non-empty string that is never parsed as a number.
ID, DATE, TIMESTAMP, BOOL, ENUM, FLOAT, STRING = (
    "id",
    "date",
    "timestamp",
    "bool",
    "enum",
    "float",
    "string",
)

OFFENCES = (
    "non_crime",
    "common_assault",
    "abh",
    "gbh",
    "gbh_with_intent",
    "attempted_murder",
    "homicide",
    "strangulation",
    "threats_to_kill",
    "stalking",
    "harassment",
    "coercive_control",
    "criminal_damage",
    "sexual_offence",
    "breach_of_order",
    "public_order",
    "theft",
    "drugs",
    "weapons_possession",
    "other",
)

# Default outcome: the contract's "serious harm" offences.
SERIOUS_HARM_OFFENCES = ("homicide", "attempted_murder", "gbh_with_intent", "gbh")

ASSESSMENT_QUESTIONS = (
    "q_injury",
    "q_frightened",
    "q_isolated",
    "q_victim_suicidal",
    "q_separation",
    "q_child_contact_conflict",
    "q_stalking",
    "q_pregnancy_infant",
    "q_escalating",
    "q_controlling_jealous",
    "q_weapon",
    "q_threats_to_kill",
    "q_strangulation",
    "q_sexual_abuse",
    "q_perpetrator_suicidal",
    "q_breach_of_order",
    "q_substance_misuse",
    "q_mental_health",
    "q_financial_problems",
)


# v1.1: what the force did about a person (one row per intervention period).
INTERVENTION_KINDS = (
    "dapst_managed",
    "marac",
    "mappa",
    "matac",
    "dvpn",
    "dvpo",
    "dapo",
    "spo",
    "dvds_disclosure",
    "perpetrator_programme",
    "voo",
    "other",
)


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: str
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values for enums
    references: str | None = None  # "table.column" this id must exist in
    protected: bool = False  # fairness audit only, never a model input
    required: bool = True  # False for optional columns riskcohort adds (documented)


@dataclass(frozen=True)
class OrderRule:
    """Row rule ``later >= earlier`` (both nullable: the rule applies when both are present)."""

    later: str
    earlier: str
    name: str


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, primary key, time-order rules and optionality."""

    name: str
    columns: tuple[Column, ...]
    key: str
    required: bool = False
    order_rules: tuple[OrderRule, ...] = ()
    known_at: str | None = None  # the column that says when police knew the record
    extra_prefix: str | None = None  # extra columns with this prefix are typed like siblings
    distinct: tuple[tuple[str, str], ...] = field(default=())  # pairs of columns that must differ

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, type_: str, nullable: bool = False, **kw) -> Column:
    return Column(name, type_, nullable, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons",
            (
                _c("person_id", ID),
                _c("birth_date", DATE, True),
                _c("sex", ENUM, values=("female", "male", "unknown"), protected=True),
                _c(
                    "ethnicity",
                    ENUM,
                    values=("asian", "black", "mixed", "white", "other", "unknown"),
                    protected=True,
                ),
                _c("death_date", DATE, True),
            ),
            key="person_id",
            required=True,
        ),
        Table(
            "incidents",
            (
                _c("incident_id", ID),
                _c("occurred_at", TIMESTAMP),
                _c("recorded_at", TIMESTAMP),
                _c("perpetrator_id", ID, references="persons.person_id"),
                _c("victim_id", ID, True, references="persons.person_id"),
                _c("relationship_id", ID, True, references="relationships.relationship_id"),
                _c("domestic", BOOL),
                _c("offence", ENUM, values=OFFENCES),
                _c(
                    "weapon",
                    ENUM,
                    True,
                    values=("none", "knife", "firearm", "blunt", "other", "unknown"),
                ),
                _c("injury", ENUM, True, values=("none", "minor", "serious", "fatal", "unknown")),
                _c("children_present", BOOL, True),
                _c("alcohol", BOOL, True),
                _c("drugs", BOOL, True),
                _c("order_id", ID, True, references="orders.order_id"),
            ),
            key="incident_id",
            required=True,
            order_rules=(OrderRule("recorded_at", "occurred_at", "recorded_before_occurred"),),
            known_at="recorded_at",
        ),
        Table(
            "relationships",
            (
                _c("relationship_id", ID),
                _c("person_a_id", ID, references="persons.person_id"),
                _c("person_b_id", ID, references="persons.person_id"),
                _c(
                    "kind",
                    ENUM,
                    values=("intimate", "family_parent_child", "family_sibling", "family_other"),
                ),
                _c("start_date", DATE, True),
                _c("end_date", DATE, True),
                _c("end_recorded_at", TIMESTAMP, True),
                _c("cohabiting", BOOL, True),
                _c("recorded_at", TIMESTAMP),
            ),
            key="relationship_id",
            order_rules=(OrderRule("end_date", "start_date", "end_before_start"),),
            known_at="recorded_at",
            distinct=(("person_a_id", "person_b_id"),),
        ),
        Table(
            "risk_assessments",
            (
                _c("assessment_id", ID),
                _c("incident_id", ID, True, references="incidents.incident_id"),
                _c("assessed_at", TIMESTAMP),
                _c("victim_id", ID, True, references="persons.person_id"),
                _c("perpetrator_id", ID, references="persons.person_id"),
                _c("tool", ENUM, values=("dash", "dara", "other")),
                _c("grade", ENUM, values=("standard", "medium", "high")),
                *(_c(q, BOOL, True) for q in ASSESSMENT_QUESTIONS),
            ),
            key="assessment_id",
            known_at="assessed_at",
            extra_prefix="q_",
        ),
        Table(
            "orders",
            (
                _c("order_id", ID),
                _c("subject_id", ID, references="persons.person_id"),
                _c("protected_id", ID, True, references="persons.person_id"),
                _c(
                    "kind",
                    ENUM,
                    values=(
                        "dvpn",
                        "dvpo",
                        "dapo",
                        "non_molestation",
                        "restraining",
                        "bail_conditions",
                        "violent_offender_order",
                        "other",
                    ),
                ),
                _c("start_date", DATE),
                _c("end_date", DATE, True),
                _c("recorded_at", TIMESTAMP),
            ),
            key="order_id",
            order_rules=(OrderRule("end_date", "start_date", "end_before_start"),),
            known_at="recorded_at",
        ),
        Table(
            "custody",
            (
                _c("custody_id", ID),
                _c("person_id", ID, references="persons.person_id"),
                _c("start_date", DATE),
                _c("end_date", DATE, True),
                _c("kind", ENUM, values=("remand", "sentence", "other")),
            ),
            key="custody_id",
            order_rules=(OrderRule("end_date", "start_date", "end_before_start"),),
            known_at="start_date",
        ),
        Table(
            "markers",
            (
                _c("marker_id", ID),
                _c("person_id", ID, references="persons.person_id"),
                _c(
                    "kind",
                    ENUM,
                    values=(
                        "weapons",
                        "firearms_access",
                        "violence",
                        "mental_health",
                        "suicide_self_harm",
                        "drugs",
                        "alcohol",
                        "other",
                    ),
                ),
                _c("recorded_at", TIMESTAMP),
                _c("expires_at", TIMESTAMP, True),
            ),
            key="marker_id",
            order_rules=(OrderRule("expires_at", "recorded_at", "expires_before_recorded"),),
            known_at="recorded_at",
        ),
        Table(
            "referrals",
            (
                _c("referral_id", ID),
                _c("person_id", ID, references="persons.person_id"),
                _c("role", ENUM, values=("victim", "perpetrator")),
                _c(
                    "kind",
                    ENUM,
                    values=("marac", "mappa", "mental_health", "perpetrator_programme", "other"),
                ),
                _c("referred_at", TIMESTAMP),
            ),
            key="referral_id",
            known_at="referred_at",
        ),
        Table(
            "interventions",
            (
                _c("intervention_id", ID),
                _c("person_id", ID, references="persons.person_id"),
                _c("kind", ENUM, values=INTERVENTION_KINDS),
                _c("start_date", DATE),
                _c("end_date", DATE, True),
                _c("recorded_at", TIMESTAMP),
                _c("end_recorded_at", TIMESTAMP, True),
            ),
            key="intervention_id",
            order_rules=(
                OrderRule("end_date", "start_date", "end_before_start"),
                OrderRule("end_recorded_at", "recorded_at", "end_recorded_before_recorded"),
            ),
            known_at="recorded_at",
        ),
    )
}

# The external baseline file is not a record table (no primary key: one row per person and date).
BASELINE_SCORES = Table(
    "baseline_scores",
    (
        _c("person_id", ID),
        _c("as_of", DATE),
        _c("score", FLOAT),
        _c("system", STRING),
        _c("in_cohort", BOOL, True),
    ),
    key="",
)

REQUIRED_TABLES = frozenset(name for name, t in TABLES.items() if t.required)
OPTIONAL_TABLES = frozenset(TABLES) - REQUIRED_TABLES
PROTECTED_COLUMNS = frozenset(c.name for t in TABLES.values() for c in t.columns if c.protected)

# Scored population and outcome defaults (contract "Time rules").
DEFAULT_LOOKBACK_DAYS = 5 * 365
DEFAULT_HORIZON_DAYS = 365
