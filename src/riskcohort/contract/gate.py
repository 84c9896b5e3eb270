"""The quarantine gate: rows dropped by validation are counted aloud and bounded.

Why: validation quarantines rows it cannot trust, and that is right for a few bad records. But a
wrong export (dates in dd/mm/YYYY, a broken join) can quarantine a large share of a table while
every later stage runs on, scores fewer people and looks healthy. So every job that trains or
scores (``run``, ``backtest``, ``retrain``, ``score``) prints the accepted/quarantined counts per
table, and stops before any training when the quarantined share of a required table is above
``max_quarantine`` (default 1%), naming the table, the rule(s), the column and example values.
The counts are returned so the run record (``run.json`` field ``quarantine``) can carry them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

#: Default bound on the quarantined share of any required table (1%).
DEFAULT_MAX_QUARANTINE = 0.01
#: Experiment TOML key holding the bound: ``[data] max_quarantine = 0.01``.
CONFIG_SECTION, CONFIG_KEY = "data", "max_quarantine"


@dataclass(frozen=True)
class TableCount:
    """Rows read, accepted and quarantined in one table (``read == accepted + quarantined``)."""

    table: str
    file: str
    read: int
    accepted: int
    quarantined: int
    required: bool
    rules: dict[str, int]

    @property
    def share(self) -> float:
        """Quarantined share of the rows read (0 for an empty table)."""
        return self.quarantined / self.read if self.read else 0.0


def check_bound(value: Any, where: str = "option --max-quarantine") -> float:
    """``value`` as a share in [0, 1]; a UserError naming where it came from otherwise.

    >>> check_bound("0.05")
    0.05
    """
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: rule 'a share between 0 and 1', got {value!r}") from None
    if isinstance(value, bool) or not 0.0 <= share <= 1.0:
        raise UserError(f"{where}: rule 'a share between 0 and 1 (0.01 = 1%)', got {value!r}")
    return share


def configured_bound(cfg: Any = None, override: float | None = None) -> float:
    """The bound in force: the command-line ``override``, else the experiment's
    ``[data] max_quarantine``, else 1%."""
    if override is not None:
        return check_bound(override)
    value = getattr(cfg, CONFIG_KEY, None)
    if value is None:
        raw = getattr(cfg, "raw", None) or {}
        value = (raw.get(CONFIG_SECTION) or {}).get(CONFIG_KEY)
    if value is None:
        return DEFAULT_MAX_QUARANTINE
    path = getattr(cfg, "path", None)
    return check_bound(value, f"experiment {path}, key {CONFIG_SECTION}.{CONFIG_KEY}")


def table_counts(report) -> dict[str, TableCount]:
    """Per-table counts from a :class:`~riskcohort.contract.report.ValidationReport`."""
    from riskcohort.contract.schema import REQUIRED_TABLES

    return {
        name: TableCount(t.table, t.file, int(t.read), int(t.accepted), int(t.quarantined),
                         name in REQUIRED_TABLES, dict(t.rules))
        for name, t in report.tables.items()
    }


def record(counts: dict[str, TableCount]) -> dict[str, dict[str, int]]:
    """Plain-JSON view for the run record (``run.json`` field ``quarantine``): per table
    ``{"read", "accepted", "quarantined"}``."""
    return {n: {"read": c.read, "accepted": c.accepted, "quarantined": c.quarantined}
            for n, c in counts.items()}


def _offence(report, c: TableCount, bound: float) -> str:
    t = report.tables[c.table]
    columns = getattr(t, "columns", None) or {}
    rules = sorted(t.rules.items(), key=lambda kv: -kv[1])
    parts = []
    for rule, n in rules[:3]:
        column = f" (column {columns[rule]!r})" if rule in columns else ""
        examples = ", ".join(repr(e) for e in (t.examples.get(rule) or [])[:3])
        parts.append(f"{rule} {n}{column}" + (f", examples {examples}" if examples else ""))
    return (f"file {c.file}, table {c.table}: {c.quarantined} of {c.read} rows quarantined "
            f"({c.share:.1%}), above the limit of {bound:.1%}; rules: " + "; ".join(parts))


def enforce(report, bound: float = DEFAULT_MAX_QUARANTINE) -> dict[str, TableCount]:
    """Per-table counts; raise a UserError (exit 2) when a required table is above ``bound``.

    Called after validation and before any training or scoring, so a wrong export stops the
    job with nothing trained and nothing published.
    """
    bound = check_bound(bound)
    counts = table_counts(report)
    for c in counts.values():
        logger.debug("%s: %d read, %d accepted, %d quarantined (%.2f%%)", c.table, c.read,
                    c.accepted, c.quarantined, 100 * c.share)
    over = [c for c in counts.values() if c.required and c.share > bound]
    if over:
        where = f"; quarantined rows in {report.report_dir}" if report.report_dir else ""
        raise UserError(" | ".join(_offence(report, c, bound) for c in over)
                        + f". Nothing was trained{where}. Fix the export, or raise the limit "
                        "with --max-quarantine (or [data] max_quarantine in the experiment).")
    return counts


def summary_line(counts: dict[str, TableCount]) -> str:
    """One line for the console: ``incidents 9,990/10,000 (10 quarantined), ...``."""
    return "validation: " + ", ".join(
        f"{c.table} {c.accepted:,}/{c.read:,}" + (f" ({c.quarantined:,} quarantined)"
                                                  if c.quarantined else "")
        for c in counts.values())


def dataset_record(dataset: Any) -> dict[str, dict[str, int]]:
    """:func:`record` of a loaded dataset's validation report ({} without a report)."""
    report = getattr(dataset, "report", None)
    return record(table_counts(report)) if report is not None else {}
