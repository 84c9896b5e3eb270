"""The indicator catalogue: what each indicator means, its direction and its reason template.

Why a file: the catalogue is read by people (governance pack, model card) and by code
(monotone constraints, reason texts, the evidence view). The canonical file is package data
(``riskcohort/features/indicators.yaml``) so an installed package finds it; the repo's top-level
``features/indicators.yaml`` is an identical copy for readers, kept equal by a test.

>>> cat = load_catalogue()
>>> cat[0].name, cat[0].direction
('days_since_last_da', -1)
>>> cat[0].reason_text(12.0)
'last domestic incident 12 days before the scoring date'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

FIELDS = ("name", "group", "description", "sources", "window", "unit", "direction", "reason",
          "evidence", "role", "proxy_risk")
GROUPS = ("perpetrator", "victim", "relationship")
#: ``risk``: describes the person; ``response``: a police or partner-agency response to risk
#: (orders, bail, referrals, custody: direction 0); ``intervention``: what the force did
#: (contract v1.1 interventions): modelling must exclude it or fix it to "not managed".
ROLES = ("risk", "response", "intervention")


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry (every field required except ``proxy_reason``, which is required
    when ``proxy_risk`` is true; ``direction`` in -1, 0, +1; responses and interventions 0)."""

    name: str
    group: str
    description: str
    sources: tuple[str, ...]
    window: str
    unit: str
    direction: int
    reason: str
    evidence: str
    role: str = "risk"
    proxy_risk: bool = False
    proxy_reason: str = ""

    def reason_text(self, value: float) -> str:
        """The reason sentence for a value (e.g. shown next to a SHAP contribution)."""
        return self.reason.format(value=value)


def _checked(entry: dict) -> Indicator:
    """An :class:`Indicator` from a YAML entry, refusing an inconsistent one (a catalogue bug)."""
    name = entry.get("name")
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        raise ValueError(f"indicators.yaml: {name!r} lacks {missing}")
    ind = Indicator(**{**entry, "sources": tuple(entry["sources"]),
                       "direction": int(entry["direction"]),
                       "proxy_risk": bool(entry["proxy_risk"]),
                       "proxy_reason": str(entry.get("proxy_reason") or "")})
    if ind.role not in ROLES:
        raise ValueError(f"indicators.yaml: {name!r} role {ind.role!r} not in {ROLES}")
    if ind.role != "risk" and ind.direction != 0:
        raise ValueError(f"indicators.yaml: {name!r} is a {ind.role}: direction must be 0")
    if ind.proxy_risk and not ind.proxy_reason:
        raise ValueError(f"indicators.yaml: {name!r} has proxy_risk but no proxy_reason")
    return ind


def catalogue_text() -> str:
    """Raw YAML of the packaged catalogue."""
    return resources.files("riskcohort.features").joinpath("indicators.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def _load() -> tuple[str, tuple[Indicator, ...]]:
    doc = yaml.safe_load(catalogue_text())
    return str(doc["version"]), tuple(_checked(entry) for entry in doc["indicators"])


def load_catalogue() -> list[Indicator]:
    """All indicators, in output column order."""
    return list(_load()[1])


def catalogue_version() -> str:
    """The catalogue's ``version`` field (written into feature file metadata)."""
    return _load()[0]


def directions() -> dict[str, int]:
    """Indicator -> monotone direction, for LightGBM ``monotone_constraints``."""
    return {i.name: i.direction for i in load_catalogue()}


def names_with_role(role: str) -> list[str]:
    """Indicators of one ``role`` (``risk``, ``response``, ``intervention``), in column order.

    Why: training must not learn from interventions (issue 17) and reports mark responses.
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r} not in {ROLES}")
    return [i.name for i in load_catalogue() if i.role == role]


def proxy_risk_names() -> list[str]:
    """Indicators marked ``proxy_risk`` (likely recording/policing bias), for the ablation."""
    return [i.name for i in load_catalogue() if i.proxy_risk]


_DOC_HEAD = """# Indicator catalogue (generated)

Generated from `src/riskcohort/features/indicators.yaml` by
`python -m riskcohort.features.catalogue > docs/indicators.md` (a test keeps it in sync).

Every indicator is a float column of `riskcohort.features.build` (NaN = unknown, e.g. its source
table is absent). T is the as-of date. A record counts at T only when known strictly before T:
incidents by `recorded_at`, assessments by `assessed_at`, orders by `recorded_at`, custody by
`start_date` (a release once `end_date` < T), markers by `recorded_at` while not expired
(`expires_at` > T or none), referrals by `referred_at`, relationships by `recorded_at` and their
end by `end_recorded_at` (falling back to `recorded_at` when the export has none). Windows are on
when the event happened (`occurred_at`; `assessed_at` for assessments) among known records.
Direction +1/-1 is the LightGBM monotone constraint (0 = none). Crime-harm weights:
`riskcohort.contract.harm.HARM_WEIGHTS` (approximate Cambridge Crime Harm Index days).
Interventions (contract v1.1) count from `recorded_at`; an intervention's end only once
`end_recorded_at` < T and `end_date` < T.

How the catalogue was chosen: from the literature, not from what our synthetic generator makes
informative (issue 16). Every DASH/DARA item of the contract, every marker, referral and order
kind, the homicide-timeline behaviours in recency windows (365 days, 3 years) as well as ever,
victim vulnerability and serial offending are offered; each entry cites its evidence and says
when it is weak. The model may give any of them no weight.

Roles (`role`): **risk** describes the person; **response** is a police or partner-agency
response to risk (orders, bail conditions, MARAC/MAPPA/programme referrals, custody): it is
imposed where risk is judged live and can also reduce it, so it is unconstrained (direction 0)
and never read as a cause; **intervention** is what the force did about the person (the v1.1
`interventions` table): not risk at all, so modelling excludes it or fixes it to "not managed"
at scoring (`catalogue.names_with_role("intervention")`). `proxy` marks indicators likely to
carry recording or policing bias (`proxy_risk`, reason in `proxy_reason`;
`catalogue.proxy_risk_names()`): the governance pack shows the model with and without them.

How it is computed: each indicator is declared once as (source, row filter, window, aggregation)
in `riskcohort/features/defs/` (relationship group: `relationship.py`). The declarations are Ibis
expressions, compiled once per process to SQL over placeholder tables (`plan.py`) and run on
in-process DuckDB, all as-of dates in one range join per source (no loop over people or dates).
Why Ibis rather than hand-written SQL: one definition serves both `build` (aggregate) and
`evidence` (the same condition selects the rows), and the plan is dialect-neutral: it compiles to
Spark SQL with Ibis' PySpark backend (or `sqlglot.transpile`, which a test exercises).
Population at T: alive at T and perpetrator of a domestic incident recorded before T and within
the lookback (default 1825 days) counted in time at liberty: custody known at T (merged periods)
does not count toward it (contract v1.1), so a person released after a long sentence is scored
again; people in custody at T are scored and flagged (`in_custody`). Labels: serious-harm
offence occurring in [T, T + horizon), only for T whose horizon ends by the end of the latest
recorded day (and by `labels_known_by`).

| name | group | role | dir | proxy | window | unit | sources | description | evidence |
|---|---|---|---|---|---|---|---|---|---|
"""


def catalogue_markdown() -> str:
    """The catalogue as a Markdown page (``docs/indicators.md``)."""
    rows = [
        f"| `{i.name}` | {i.group} | {i.role} | {i.direction:+d} | "
        f"{'proxy: ' + i.proxy_reason if i.proxy_risk else ''} | {i.window} | {i.unit} | "
        f"{', '.join(i.sources)} | {i.description} | {i.evidence} |"
        for i in load_catalogue()
    ]
    return _DOC_HEAD + "\n".join(rows) + f"\n\nCatalogue version {catalogue_version()}.\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(catalogue_markdown())
