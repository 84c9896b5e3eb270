"""Show a :class:`PersonExplanation` to a person (Rich text) or a program (JSON).

Why separate from the computation: the CLI, the app and the tests all need the same numbers, but
only the CLI needs terminal formatting; the JSON form is the stable, round-trippable one.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from riskcohort.explain.reasons import points


def to_json(exp) -> str:
    """Stable JSON for one explanation (sorted keys)."""
    return json.dumps(exp.to_dict(), indent=2, sort_keys=True, default=str)


def _pct(p) -> str:
    """A probability as the app and scores.csv show it: 7.3%, 0.52%."""
    from riskcohort.display import percent

    return percent(p)


def _reasons_table(title: str, reasons) -> Table:
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("#", justify="right", width=2)
    table.add_column("reason", ratio=4)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("log-odds", justify="right", no_wrap=True)
    for i, r in enumerate(reasons, start=1):
        table.add_row(str(i), r.text.split(" - ")[0], points(r.effect_pp),
                      f"{r.contribution_logodds:+.2f}")
    return table


def record_text(rec: dict) -> str:
    """One evidence record in words: 'incidents I000003673, recorded 2025-04-03 (abh; victim
    P000014379)'; a missing date is 'date not recorded'.

    >>> record_text({"table": "persons", "record_id": "P1", "recorded_at": None,
    ...              "kind": "birth_date", "victim_id": None})
    'persons P1, date not recorded (birth date)'
    """
    when = rec.get("recorded_at")
    missing = when in (None, "", "None", "NaT")
    when = "date not recorded" if missing else f"recorded {str(when)[:10]}"
    kind = str(rec.get("kind") or "").replace("_", " ")
    victim = rec.get("victim_id")
    victim = "" if victim in (None, "", "None", "-", "nan") else f"victim {victim}"
    detail = "; ".join(x for x in (kind, victim) if x)
    return f"{rec.get('table')} {rec.get('record_id')}, {when}" + (f" ({detail})" if detail else "")


def headline(exp) -> str:
    """The first line: score (with its interval), rank (=12 for a tie), band, cohort."""
    cohort = {True: "in the cohort", False: "not in the cohort", None: "cohort unknown"}
    interval = (f" (90% interval {_pct(exp.score_lo)} to {_pct(exp.score_hi)})"
                if exp.score_lo is not None and exp.score_hi is not None else "")
    tie = " - a tie: others have exactly this score" if exp.tied else ""
    return (f"Person {exp.person_id} as of {exp.as_of}: risk estimate {_pct(exp.score)}"
            f"{interval}, rank {exp.rank_text} of {exp.n_scored:,}{tie}, band "
            f"{exp.band or 'not available'}, {cohort[exp.in_cohort]}. Base estimate "
            f"{_pct(exp.base_probability)}; average of everyone scored "
            f"{_pct(exp.average_probability)}.")


def print_text(exp, console: Console | None = None) -> None:
    """Officer-facing text: score, rank, band, custody, reasons, evidence, what-if, notes."""
    console = console or Console()
    console.print(f"[bold]{headline(exp)}[/]", highlight=False)
    if exp.custody_text:
        console.print(f"[bold]{exp.custody_text}[/]", highlight=False)
    console.print("[dim]Supports a human decision; it does not make one.[/]")
    console.print(_reasons_table("Raising the estimate (percentage points)", exp.reasons_up))
    console.print(_reasons_table("Lowering the estimate (percentage points)", exp.reasons_down))
    total = sum(r.effect_pp for r in exp.reasons_up + exp.reasons_down)
    console.print(f"[dim]Base estimate {_pct(exp.base_probability)}, these reasons "
                  f"{points(total)} points, other indicators "
                  f"{points(100 * (exp.score - exp.base_probability) - total)} points: "
                  f"{_pct(exp.score)}.[/]", highlight=False)
    console.print("[bold]Records behind these indicators[/]")
    if not exp.evidence:
        console.print("  not available (see notes)")
    names = {r.indicator: r.description for r in exp.reasons_up + exp.reasons_down}
    for name, records in exp.evidence.items():
        n = len(records)
        console.print(f"  {names.get(name, name)}: {n} record{'s' if n != 1 else ''}",
                      highlight=False)
        for rec in records:
            console.print(f"    - {record_text(rec)}", highlight=False)
    if exp.sensitivity:
        table = Table(title="What-if, not causation (one indicator at the typical value)",
                      expand=True)
        table.add_column("if, instead (value now)", ratio=3)
        table.add_column("estimate", ratio=1)
        table.add_column("rank", ratio=1)
        for w in exp.sensitivity:
            same = w.change_text == "no change"
            table.add_row(f"{w.text} ({w.value_text})",
                          "no change" if same and w.score_change_pp == 0 else
                          f"{_pct(w.score)} ({points(w.score_change_pp)} pp)",
                          "no change" if same else f"{w.rank} ({w.change_text})")
        console.print(table)
    for note in exp.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
