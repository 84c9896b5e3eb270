"""Console summary of a tabular run (Rich): the model choice, exclusions and model vs baselines."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

HEADLINE = ("roc_auc", "pr_auc", "brier")


def _fmt(cell: dict | None) -> str:
    if not cell:
        return "-"
    return f"{cell['value']:.3f} [{cell['lo']:.3f}, {cell['hi']:.3f}]"


def print_summary(result, console: Console | None = None) -> None:
    """Print what was excluded, which family was chosen and every system on the test rows."""
    console = console or Console()
    m = result.metrics
    console.print(f"[bold]Tabular run[/] -> {result.out_dir}  (train {result.n_train} rows, "
                  f"test {result.n_test} rows, {m['positives']} positives in test)")
    for ex in result.excluded:
        console.print(f"  excluded [yellow]{ex['name']}[/]: {ex['reason']}")
    cv = ", ".join(f"{name} {auc:.3f}" for name, auc in result.cv_auc.items())
    console.print(f"  chosen model: [bold]{result.chosen}[/] (cross-validated ROC AUC: {cv})")
    k = m["cohort_size"]
    keys = (*HEADLINE, f"precision@{k}", f"recall@{k}")
    table = Table(title="Test rows: model vs baselines (95% bootstrap intervals)")
    table.add_column("system")
    for key in keys:
        table.add_column(key)
    for name, cells in m["scores"].items():
        table.add_row(name, *(_fmt(cells.get(key)) for key in keys))
    console.print(table)
    for name, diff in m["differences"].items():
        cell = diff.get(f"recall@{k}")
        if cell:
            console.print(f"  model - {name}: recall@{k} {_fmt(cell)}")
    for flag in m.get("fairness_flags", []):
        console.print(f"  [red]fairness flag[/]: {flag}")
