"""The validation report: what was read, accepted and quarantined, per table and per rule.

A plain dataclass, written as ``validation.json`` next to the quarantine files, so the CLI, the
run folder (``validation/``) and the governance pack all read the same figures. It holds counts
and paths, never row values (those stay in the quarantine files).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT_FILE = "validation.json"


@dataclass
class TableReport:
    """Counts of one table: ``read == accepted + quarantined`` always."""

    table: str
    file: str
    read: int
    accepted: int
    quarantined: int
    rules: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # rule -> column it hit most
    quarantine_file: str | None = None
    expectations: dict | None = None  # GX: evaluated, successful, success


@dataclass
class ValidationReport:
    """Outcome of validating one dataset folder (reusable by governance and the app)."""

    data_dir: str
    fingerprint: str
    tables: dict[str, TableReport]
    absent: list[str]
    report_dir: str | None = None
    data_docs: str | None = None  # index.html of the Great Expectations Data Docs
    created_at: str = ""

    @property
    def quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(t.quarantined for t in self.tables.values())

    @property
    def rule_counts(self) -> dict[str, int]:
        """Rows quarantined per rule over all tables."""
        out: dict[str, int] = {}
        for t in self.tables.values():
            for rule, n in t.rules.items():
                out[rule] = out.get(rule, 0) + n
        return out

    @property
    def expectations_ok(self) -> bool | None:
        """Whether every GX suite passed on the accepted rows (None when GX was not run)."""
        runs = [t.expectations for t in self.tables.values() if t.expectations]
        return all(r["success"] for r in runs) if runs else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["quarantined"] = self.quarantined
        data["rule_counts"] = self.rule_counts
        return data

    def write(self, report_dir: str | Path) -> Path:
        """Write ``validation.json`` atomically into ``report_dir``."""
        from riskcohort.io import write_json

        return write_json(Path(report_dir) / REPORT_FILE, self.to_dict())

    @classmethod
    def read(cls, path: str | Path) -> ValidationReport:
        """Load a report from ``validation.json`` (or the folder holding it)."""
        path = Path(path)
        if path.is_dir():
            path = path / REPORT_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        tables = {k: TableReport(**v) for k, v in data["tables"].items()}
        fields = {k: data.get(k) for k in ("report_dir", "data_docs", "created_at")}
        return cls(
            data_dir=data["data_dir"],
            fingerprint=data["fingerprint"],
            tables=tables,
            absent=list(data["absent"]),
            **{k: v for k, v in fields.items() if v is not None},
        )
