"""Which rule each row broke first: compact per-row codes, details kept only for marked rows.

Why not one Python object per row: at national scale (7M incidents) three object arrays (rule,
column, detail) cost ~170 MB per table and formatting a detail for every row of a column (to
keep a handful) cost seconds; here a row holds an int8 rule and an int16 column code, and a
detail is built only for the rows a rule actually marks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_MAX_VALUE_CHARS = 60


def short(value) -> str:
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def short_detail(column: str, value) -> str:
    return f"{column}={short(value)!r}"


class Marker:
    """Collects (rule, column, detail) for the first rule each row breaks (rules in ``order``)."""

    def __init__(self, n: int, order: tuple[str, ...]):
        self.order = order
        self.free = np.ones(n, dtype=bool)
        self._rule = np.full(n, -1, dtype=np.int8)
        self._column = np.full(n, -1, dtype=np.int16)
        self._names: list[str] = []
        self._details: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, detail per row)

    def mark(self, mask, rule: str, column: str, details, *, values: bool = True) -> None:
        """Mark rows in ``mask`` not yet marked.

        ``details``: one text for all rows, or a function of the marked row positions returning
        one value per row: a raw value shown as ``column='value'`` when ``values``, else the
        detail as written.
        """
        hit = np.asarray(mask, dtype=bool) & self.free
        if not hit.any():
            return
        self.free &= ~hit
        rows = np.flatnonzero(hit)
        self._rule[rows] = self.order.index(rule)
        if column not in self._names:
            self._names.append(column)
        self._column[rows] = self._names.index(column)
        text = np.empty(len(rows), dtype=object)
        if isinstance(details, str):
            text[:] = details
        else:
            got = details(rows)
            got = got.to_numpy() if isinstance(got, pd.Series) else got
            text[:] = [short_detail(column, v) for v in got] if values else list(got)
        self._details.append((rows, text))

    def summary(self) -> Marked:
        """The marked rows in row order with their rule, column and detail."""
        rows = np.flatnonzero(~self.free)
        detail = np.full(len(rows), None, dtype=object)
        for marked, text in self._details:
            detail[np.searchsorted(rows, marked)] = text
        names = np.array(self._names + [""], dtype=object)
        rule = np.array(self.order, dtype=object)[self._rule[rows]]
        return Marked(rows, rule, names[self._column[rows]], detail)


class Marked:
    """Quarantined rows: positions (ascending) and, per row, rule, column and detail."""

    def __init__(self, rows: np.ndarray, rule, column, detail):
        self.rows, self.rule, self.column, self.detail = rows, rule, column, detail

    def counts(self) -> dict[str, int]:
        return {r: int(c) for r, c in pd.Series(self.rule, dtype=object).value_counts().items()}

    def examples(self, rule: str) -> list[str]:
        """Up to 5 distinct details among the first 1000 rows the rule hit."""
        hit = self.detail[self.rule == rule][:1000]
        return list(dict.fromkeys(str(d) for d in hit))[:5]

    def column_of(self, rule: str) -> str:
        """The column the rule hit most (ties: the first name in sort order)."""
        return str(pd.Series(self.column[self.rule == rule]).mode().iloc[0])

