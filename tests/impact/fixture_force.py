"""The records both impact fixtures write for a quarter: who the team picked (an interventions
row each, six months long) and who came to serious harm (a recorded ``gbh`` within 540 days).

One writer, so the two fixture forces differ only in how the team picks and how harm arises."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

T = pd.Timestamp


def quarter_records(pid: np.ndarray, start: pd.Timestamp, picked: np.ndarray,
                    harm: np.ndarray, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interventions of the picked, serious-harm incidents of the harmed) for one quarter."""
    iv = pd.DataFrame({"person_id": pid[picked], "kind": "dapst_managed",
                       "start_date": start, "end_date": start + pd.DateOffset(months=6)})
    days = rng.integers(0, 540, harm.sum())
    inc = pd.DataFrame({"perpetrator_id": pid[harm], "offence": "gbh", "domestic": True,
                        "occurred_at": start + pd.to_timedelta(days, "D"),
                        "recorded_at": start + pd.to_timedelta(days + 1, "D")})
    return iv, inc


def fixture_dataset(ivs: list[pd.DataFrame], incs: list[pd.DataFrame]) -> SimpleNamespace:
    """A dataset stand-in with the quarters' records (extract ending 2024-12-31)."""
    incs = [*incs, pd.DataFrame({"perpetrator_id": ["X"], "offence": ["abh"], "domestic": [True],
                                 "occurred_at": [T("2024-12-30")],
                                 "recorded_at": [T("2024-12-31")]})]
    iv = pd.concat(ivs, ignore_index=True)
    iv["intervention_id"] = [f"V{i}" for i in range(len(iv))]
    return SimpleNamespace(root=Path("fixture"), tables={
        "incidents": pd.concat(incs, ignore_index=True), "interventions": iv})
