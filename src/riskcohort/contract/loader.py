"""``load_dataset``: read a dataset folder, quarantine bad rows, return the accepted rows typed.

This is the one entry point every later stage uses. It never modifies the input folder and
refuses a report folder inside it. Rows that break a row rule are written, as read, to
``<report_dir>/<table>.quarantine.parquet``; structural problems stop with a ``UserError``
(exit 2), including a table where most rows fail (a wrong export, not a few bad records) and
primary keys duplicated in bulk (a table exported twice or joined).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from riskcohort.contract import reader, rules
from riskcohort.contract.report import TableReport, ValidationReport
from riskcohort.contract.schema import BASELINE_SCORES, REQUIRED_TABLES, TABLES, Table
from riskcohort.errors import UserError, examples

MAX_BAD_FRACTION = 0.5  # more than this share of a table quarantined = a structural problem
BULK_DUPLICATE_FRACTION = 0.05  # duplicate keys beyond this share (and >= 10 rows) = structural
BULK_DUPLICATE_MIN = 10
DATA_DOCS_DIR = "data_docs"

logger = logging.getLogger(__name__)


@dataclass
class Dataset:
    """A validated dataset: accepted rows of each present table, typed (architecture.md)."""

    root: Path
    tables: dict[str, pd.DataFrame]
    absent: list[str]
    baseline_scores: pd.DataFrame | None
    fingerprint: str
    report: ValidationReport | None = field(default=None, repr=False)


def table_order() -> list[str]:
    """Contract tables in reference order (a table after every table it references)."""
    deps = {
        name: {c.references.split(".")[0] for c in t.columns if c.references} - {name}
        for name, t in TABLES.items()
    }
    order: list[str] = []
    while len(order) < len(deps):
        ready = [n for n in TABLES if n not in order and deps[n] <= set(order)]
        if not ready:
            raise RuntimeError("schema references form a cycle")
        order.extend(ready)
    return order


def default_report_dir(data_dir: str | Path) -> Path:
    """``<parent>/<name>-validation``: next to the dataset folder, never inside it."""
    data_dir = Path(data_dir).resolve()
    return data_dir.parent / f"{data_dir.name}-validation"


def _check_structure(result: rules.TableResult, max_bad_fraction: float) -> None:
    n = result.n_read
    if n == 0:
        return
    dups = result.counts.get("duplicate_key", 0)
    if dups >= BULK_DUPLICATE_MIN and dups > BULK_DUPLICATE_FRACTION * n:
        raise UserError(
            f"file {Path(result.path).name}, column {result.columns['duplicate_key']!r}: rule "
            f"duplicate_key: {dups} of {n} rows repeat a primary key (was the table exported "
            f"twice or joined?); examples {', '.join(result.examples['duplicate_key'])}"
        )
    bad = sum(result.counts.values())
    top = rules.dominant(result)
    if top is not None and bad > max_bad_fraction * n:
        rule, count = top
        raise UserError(
            f"file {Path(result.path).name}, column {result.columns[rule]!r}: rule {rule}: "
            f"{bad} of {n} rows ({bad / n:.0%}) fail the contract, {count} of them by rule "
            f"{rule}; examples {', '.join(result.examples[rule])}. All rules: "
            + ", ".join(f"{r}={c}" for r, c in result.counts.items())
        )


def _table_report(result: rules.TableResult, report_dir: Path | None) -> TableReport:
    quarantined = len(result.quarantine)
    if result.n_read != len(result.accepted) + quarantined:  # a bug, never a user mistake
        raise RuntimeError(f"{result.name}: rows read != accepted + quarantined")
    return TableReport(
        table=result.name,
        file=Path(result.path).name,
        read=result.n_read,
        accepted=len(result.accepted),
        quarantined=quarantined,
        rules=result.counts,
        examples=result.examples,
        columns=result.columns,
        quarantine_file=(
            str(report_dir / f"{result.name}.quarantine.parquet") if report_dir else None
        ),
    )


def _resolve_report_dir(data_dir: Path, report_dir) -> Path | None:
    if report_dir is None:
        return None
    out = Path(report_dir).resolve()
    if out == data_dir or data_dir in out.parents:
        raise UserError(
            f"folder {out}: rule input_read_only: the report folder is inside the input folder "
            f"{data_dir}; choose another (the input is never modified)"
        )
    return out


def _check_tables(root: Path, max_bad_fraction: float
                  ) -> tuple[dict[str, rules.TableResult], list[str]]:
    """Check every contract table in dependency order (a table's references are checked
    against the keys of the tables before it); returns the results and the absent tables.
    A required table that is missing or empty stops here, before later tables blame it."""
    results: dict[str, rules.TableResult] = {}
    keysets: dict[str, rules.KeySets | None] = {}
    absent: list[str] = []
    for name in table_order():
        result = _check(root, TABLES[name], keysets, max_bad_fraction)
        if result is None:
            if name in REQUIRED_TABLES:
                raise UserError(
                    f"file {name}.csv or {name}.parquet: rule required_table: table {name!r} is "
                    f"required and missing in {root}; found {examples(_listing(root))}"
                )
            absent.append(name)
            keysets[name] = None
            continue
        if result.n_read == 0 and name in REQUIRED_TABLES:  # else later tables blame it
            raise UserError(
                f"file {Path(str(result.path)).name}: rule required_rows: table {name!r} is "
                "required and has no rows (a header only); was the export empty?"
            )
        results[name] = result
        keysets[name] = result.keys
    del keysets
    for result in results.values():
        result.keys = None  # only the checks of later tables needed them (~0.5 GB national)
    return results, absent


def _refuse_quarantine(report: ValidationReport, root: Path, out: Path | None) -> None:
    """``strict``: any quarantined row is an error (exit 1), raised after the report is written
    so the user can see which rows and why."""
    if report.quarantined:
        raise UserError(
            f"folder {root}: rule strict: {report.quarantined} rows quarantined ("
            + ", ".join(f"{r}={c}" for r, c in report.rule_counts.items())
            + ")"
            + (f"; see {out}" if out else ""),
            exit_code=1,
        )


def load_dataset(
    data_dir: str | Path,
    report_dir: str | Path | None = None,
    strict: bool = False,
    *,
    data_docs: bool | None = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
    baseline_path: str | Path | None = None,
) -> Dataset:
    """Read, validate and type a dataset folder.

    ``report_dir`` (optional) receives ``<table>.quarantine.parquet`` for every present table,
    ``validation.json`` and, when ``data_docs`` (default: whenever ``report_dir`` is given),
    Great Expectations Data Docs in ``data_docs/``. ``strict=True`` raises ``UserError`` with exit
    code 1 if any row was quarantined (after writing the report). ``baseline_path`` reads the
    external baseline scores from a file elsewhere instead of ``<data_dir>/baseline_scores.*``.
    """
    root = Path(data_dir).resolve()
    if not root.is_dir():
        raise UserError(f"folder {data_dir}: rule dataset_folder: not a folder")
    out = _resolve_report_dir(root, report_dir)
    logger.debug("validating %s against the data contract", root)
    results, absent = _check_tables(root, max_bad_fraction)
    baseline = _check(
        root, BASELINE_SCORES, {}, max_bad_fraction, Path(baseline_path) if baseline_path else None
    )
    pa.default_memory_pool().release_unused()  # what the last table's checks freed
    paths = [r.path for r in results.values()] + ([baseline.path] if baseline else [])
    report = ValidationReport(
        data_dir=str(root),
        fingerprint=reader.fingerprint(paths),
        tables={n: _table_report(r, out) for n, r in [*results.items(), *_baseline_item(baseline)]},
        absent=absent,
        report_dir=str(out) if out else None,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    if out is not None:
        _write_outputs(out, results, baseline, report, data_docs is not False)
    dataset = Dataset(
        root=root,
        tables={n: r.accepted for n, r in results.items()},
        absent=absent,
        baseline_scores=baseline.accepted if baseline else None,
        fingerprint=report.fingerprint,
        report=report,
    )
    if strict:
        _refuse_quarantine(report, root, out)
    return dataset


def _check(root: Path, table: Table, keysets, max_bad_fraction, path=None):
    """Read and check one table (None when its file is absent).

    Why a function: the file as read is freed on return, before the next one is read, and the
    Arrow memory pool hands back the pages it freed (mimalloc otherwise keeps them: ~1.6 GB of
    RSS at national scale that no later stage could use).
    """
    raw = reader.read_table(root, table, path)
    if raw is None:
        return None
    result = rules.check_table(raw, table, keysets)
    del raw
    pa.default_memory_pool().release_unused()
    _check_structure(result, max_bad_fraction)
    return result


def _baseline_item(baseline):
    return [("baseline_scores", baseline)] if baseline is not None else []


def _listing(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())[:5]


def _write_outputs(out: Path, results, baseline, report: ValidationReport, docs: bool) -> None:
    from riskcohort.io import write_frame

    out.mkdir(parents=True, exist_ok=True)
    for name, result in [*results.items(), *_baseline_item(baseline)]:
        write_frame(out / f"{name}.quarantine.parquet", result.quarantine)
    if docs:
        from riskcohort.contract.expectations import run_expectations

        frames: dict[str, tuple[Table, pd.DataFrame]] = {
            n: (TABLES[n], r.accepted) for n, r in results.items()
        }
        if baseline is not None:
            frames["baseline_scores"] = (BASELINE_SCORES, baseline.accepted)
        outcome, index = _build_docs_atomically(frames, out / DATA_DOCS_DIR, run_expectations)
        for name, stats in outcome.items():
            report.tables[name].expectations = stats
        report.data_docs = str(index)
    report.write(out)


def _build_docs_atomically(frames, target: Path, run_expectations):
    """Build Data Docs in a temporary sibling folder, then swap it in (no half-written site).

    The temporary folder is named after this process (``.data_docs.<pid>.*``), so what a killed
    process left behind is recognised and removed by the next build."""
    import os
    import shutil
    import tempfile

    _remove_stale_docs(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    try:
        outcome, _ = run_expectations(frames, tmp)
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return outcome, target / "index.html"


def _remove_stale_docs(target: Path) -> None:
    """Delete ``.<target>.<pid>.*`` folders of processes that no longer run."""
    import os
    import shutil

    for p in target.parent.glob(f".{target.name}.*"):
        pid = p.name[len(target.name) + 2:].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            pass
