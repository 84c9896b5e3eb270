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
          "evidence")
GROUPS = ("perpetrator", "relationship")


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry (all fields required; ``direction`` in -1, 0, +1)."""

    name: str
    group: str
    description: str
    sources: tuple[str, ...]
    window: str
    unit: str
    direction: int
    reason: str
    evidence: str

    def reason_text(self, value: float) -> str:
        """The reason sentence for a value (e.g. shown next to a SHAP contribution)."""
        return self.reason.format(value=value)


def catalogue_text() -> str:
    """Raw YAML of the packaged catalogue."""
    return resources.files("riskcohort.features").joinpath("indicators.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def _load() -> tuple[str, tuple[Indicator, ...]]:
    doc = yaml.safe_load(catalogue_text())
    items = []
    for entry in doc["indicators"]:
        missing = [f for f in FIELDS if f not in entry]
        if missing:
            raise ValueError(f"indicators.yaml: {entry.get('name')!r} lacks {missing}")
        items.append(
            Indicator(**{**entry, "sources": tuple(entry["sources"]),
                         "direction": int(entry["direction"])})
        )
    return str(doc["version"]), tuple(items)


def load_catalogue() -> list[Indicator]:
    """All indicators, in output column order."""
    return list(_load()[1])


def catalogue_version() -> str:
    """The catalogue's ``version`` field (written into feature file metadata)."""
    return _load()[0]


def directions() -> dict[str, int]:
    """Indicator -> monotone direction, for LightGBM ``monotone_constraints``."""
    return {i.name: i.direction for i in load_catalogue()}


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

How it is computed: each indicator is declared once as (source, row filter, window, aggregation)
in `riskcohort/features/defs/` (relationship group: `relationship.py`). The declarations are Ibis
expressions, compiled once per process to SQL over placeholder tables (`plan.py`) and run on
in-process DuckDB, all as-of dates in one range join per source (no loop over people or dates).
Why Ibis rather than hand-written SQL: one definition serves both `build` (aggregate) and
`evidence` (the same condition selects the rows), and the plan is dialect-neutral: it compiles to
Spark SQL with Ibis' PySpark backend (or `sqlglot.transpile`, which a test exercises).
Population at T: alive at T and perpetrator of a domestic incident recorded before T and within
the lookback (default 1825 days). Labels: serious-harm offence occurring in [T, T + horizon),
only for T whose horizon ends by the end of the latest recorded day (and by `labels_known_by`).

| name | group | dir | window | unit | sources | description | evidence |
|---|---|---|---|---|---|---|---|
"""


def catalogue_markdown() -> str:
    """The catalogue as a Markdown page (``docs/indicators.md``)."""
    rows = [
        f"| `{i.name}` | {i.group} | {i.direction:+d} | {i.window} | {i.unit} | "
        f"{', '.join(i.sources)} | {i.description} | {i.evidence} |"
        for i in load_catalogue()
    ]
    return _DOC_HEAD + "\n".join(rows) + f"\n\nCatalogue version {catalogue_version()}.\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
