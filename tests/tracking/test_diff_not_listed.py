"""`diff` says how many people it did not list, and + means moved up (issue 14.7)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from rich.console import Console

from riskcohort.tracking.render import print_diff


def test_diff_counts_what_it_did_not_list():
    ids = [f"P{i}" for i in range(30)]
    entered = pd.DataFrame({"rank": range(1, 31), "score": 0.1, "band": "high",
                            "reasons": "x"}, index=ids)
    left = pd.DataFrame({"rank": range(1, 4), "rank_now": [120.0, float("nan"), 130.0],
                         "score": 0.05}, index=ids[:3])
    stayed = pd.DataFrame({"rank_a": [10, 5], "rank_b": [4, 9]}, index=["S1", "S2"])
    stayed["change"] = stayed["rank_a"] - stayed["rank_b"]
    console = Console(width=80, record=True)
    print_diff(SimpleNamespace(entered=entered, left=left, stayed=stayed, notes=[]), console, 20)
    out = console.export_text()
    assert "... and 10 more who entered, not listed" in out
    assert "who left, not listed" not in out and "who stayed, not listed" not in out
    assert "+6" in out and "-4" in out  # S1 moved up 6 places, S2 down 4
