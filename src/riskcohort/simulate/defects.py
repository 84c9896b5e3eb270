"""Realistic data-quality defects, injected at a low documented rate and counted.

Why: real force extracts contain duplicates, clocks out of order, codes outside the list,
references to people who are not in the person table and missing values. The validator must
quarantine exactly these rows, so every injected defect is counted in ``_truth/defects.json``.
Rates (per table row, see ``RATES``) add up to about 0.6% of incident rows and less elsewhere.
Each defect is applied to a distinct row so the counts can be checked against the data.
"""

from __future__ import annotations

import pandas as pd

# table -> list of (defect, rate, column)
RATES: dict[str, list[tuple[str, float, str | None]]] = {
    "incidents": [
        ("duplicate_row", 0.002, None),
        ("recorded_before_occurred", 0.0015, "recorded_at"),
        ("unknown_enum", 0.001, "offence"),
        ("dangling_person", 0.001, "victim_id"),
        ("missing_required", 0.001, "perpetrator_id"),
    ],
    "relationships": [("duplicate_row", 0.002, None)],
    "risk_assessments": [
        ("unknown_enum", 0.002, "grade"),
        ("missing_required", 0.001, "assessed_at"),
    ],
    "markers": [("dangling_person", 0.002, "person_id"), ("unknown_enum", 0.002, "kind")],
    "referrals": [("missing_required", 0.002, "referred_at")],
}
UNKNOWN = {"offence": "assault_other", "grade": "very_high", "kind": "gang"}


def inject(tables: dict[str, pd.DataFrame], rng, block: int) -> dict[str, dict[str, int]]:
    """Modify ``tables`` in place; return counts per table and defect."""
    counts: dict[str, dict[str, int]] = {}
    for name, rules in RATES.items():
        f = tables[name]
        n = len(f)
        k = [int(rng.binomial(n, rate)) for _, rate, _ in rules]
        rows = rng.permutation(n)[: sum(k)]
        pos = 0
        dup = None
        for (defect, _, col), cnt in zip(rules, k, strict=True):
            sel = f.index[rows[pos: pos + cnt]]
            pos += cnt
            counts.setdefault(name, {})[defect] = cnt
            if not cnt:
                continue
            if defect == "duplicate_row":
                dup = f.loc[sel]
                continue
            assert col is not None, defect  # every other defect names its column (RATES)
            if defect == "recorded_before_occurred":
                f.loc[sel, col] = f.loc[sel, "occurred_at"] - pd.to_timedelta(
                    rng.uniform(1, 96, cnt), unit="h").round("s")
            elif defect == "unknown_enum":
                f.loc[sel, col] = UNKNOWN[col]
            elif defect == "dangling_person":
                f.loc[sel, col] = [f"PX{block:02d}{i:06d}" for i in range(cnt)]
            elif defect == "missing_required":
                f.loc[sel, col] = None if f[col].dtype == object or str(f[col].dtype) == "str" \
                    else pd.NaT
        if dup is not None:
            f = pd.concat([f, dup], ignore_index=True)
            order = f.columns[1] if "recorded_at" not in f else "recorded_at"
            f = f.sort_values(order, kind="stable").reset_index(drop=True)
        tables[name] = f
    return counts


def merge_counts(total: dict, part: dict) -> dict:
    for t, d in part.items():
        for k, v in d.items():
            total.setdefault(t, {}).setdefault(k, 0)
            total[t][k] += v
    return total
