"""Show a :class:`PersonExplanation` to a person (Rich text) or a program (JSON).

Why separate from the computation: the CLI, the app and the tests all need the same numbers, but
only the CLI needs terminal formatting; the JSON form is the stable, round-trippable one.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table


def to_json(exp) -> str:
    """Stable JSON for one explanation (sorted keys)."""
    return json.dumps(exp.to_dict(), indent=2, sort_keys=True, default=str)


def _reasons_table(title: str, reasons) -> Table:
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("#", justify="right", width=2)
    table.add_column("reason")
    table.add_column("log-odds", justify="right")
    for i, r in enumerate(reasons, start=1):
        table.add_row(str(i), r.text, f"{r.contribution_logodds:+.3f}")
    return table


def print_text(exp, console: Console | None = None) -> None:
    """Officer-facing text: score, rank, band, reasons, evidence, what-if, notes."""
    console = console or Console()
    cohort = {True: "in the cohort", False: "not in the cohort", None: "cohort unknown"}
    console.print(
        f"[bold]Person {exp.person_id}[/] as of {exp.as_of}: risk estimate "
        f"[bold]{100 * exp.score:.1f}%[/] (rank {exp.rank} of {exp.n_scored}, band "
        f"{exp.band or '-'}, {cohort[exp.in_cohort]}); population average "
        f"{100 * exp.average_probability:.1f}%.",
        highlight=False,
    )
    console.print("[dim]Supports a human decision; it does not make one.[/]")
    console.print(_reasons_table("Pushing the estimate up", exp.reasons_up))
    console.print(_reasons_table("Pushing the estimate down", exp.reasons_down))
    console.print("[bold]Records behind these indicators[/]")
    if not exp.evidence:
        console.print("  not available (see notes)")
    for name, records in exp.evidence.items():
        console.print(f"  {name}: {len(records)} record(s)", highlight=False)
        for rec in records:
            console.print(
                f"    - {rec.get('table')} {rec.get('record_id')} recorded "
                f"{rec.get('recorded_at')} ({rec.get('kind') or '-'}; victim "
                f"{rec.get('victim_id') or '-'})",
                highlight=False,
            )
    if exp.sensitivity:
        table = Table(title="What-if, not causation (indicator at population median)", expand=True)
        table.add_column("if, instead, at the population median (value now)", ratio=3)
        table.add_column("score", ratio=1)
        table.add_column("rank", ratio=1)
        for w in exp.sensitivity:
            table.add_row(f"{w.text} ({w.value_text})",
                          f"{100 * w.score:.1f}% ({w.score_change_pp:+.1f} pp)",
                          f"{w.rank} ({w.rank_change:+d})")
        console.print(table)
    for note in exp.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
