"""Terminal rendering of a cohort diff (Rich tables), kept apart from the computation."""

from __future__ import annotations


def _not_listed(console, n: int, limit: int, who: str) -> None:
    """Say how many people a table left out ('... and 12 more who left, not listed')."""
    if n > limit:
        console.print(f"... and {n - limit} more {who}, not listed (raise --limit to see them)")


def print_diff(d, console, limit: int = 20) -> None:
    """Entered (with reasons), left (with current rank) and biggest rank moves among stayers."""
    from rich.table import Table

    console.print(f"cohort change: {len(d.entered)} entered, {len(d.left)} left, "
                  f"{len(d.stayed)} stayed")
    for note in d.notes:
        console.print(f"[yellow]note:[/] {note}")
    t = Table(title="Entered the cohort")
    for col in ("person", "rank", "score", "band", "top reasons"):
        t.add_column(col, overflow="fold")
    for pid, r in d.entered.head(limit).iterrows():
        t.add_row(str(pid), str(r["rank"]), f"{r['score']:.3f}", str(r["band"]), r["reasons"])
    console.print(t)
    _not_listed(console, len(d.entered), limit, "who entered")
    t = Table(title="Left the cohort")
    for col in ("person", "rank before", "rank now", "score before"):
        t.add_column(col)
    for pid, r in d.left.head(limit).iterrows():
        now = "not scored" if r["rank_now"] != r["rank_now"] else str(int(r["rank_now"]))
        t.add_row(str(pid), str(r["rank"]), now, f"{r['score']:.3f}")
    console.print(t)
    _not_listed(console, len(d.left), limit, "who left")
    moved = d.stayed.reindex(d.stayed["change"].abs().sort_values(ascending=False).index)
    t = Table(title="Stayed: largest rank changes (+ = moved up)")
    for col in ("person", "rank before", "rank now", "change"):
        t.add_column(col)
    for pid, r in moved.head(limit).iterrows():
        t.add_row(str(pid), str(r["rank_a"]), str(r["rank_b"]), f"{int(r['change']):+d}")
    console.print(t)
    _not_listed(console, len(d.stayed), limit, "who stayed")
