"""Per-dataset preparation for :func:`riskcohort.features.evidence`: each person's rows by index.

Why: the app and ``riskcohort explain`` ask for evidence person by person on one loaded dataset.
Comparing every row of every table with the person id (and normalising the tables) on each call
cost a pass over the whole dataset per person. Here that work is done once per ``Dataset``
object: the tables are normalised once and, for each column that names a person (or a
relationship), the row positions of every value are kept (one stable argsort per column, so a
person's rows come out in their original order, exactly as a boolean mask would give them).
A call then takes only the person's rows.

The cache is held per dataset *object* (not per fingerprint: two objects never share one), keyed
on ``id(dataset)`` with a weak reference, and dropped when the dataset is garbage-collected, so
nothing outlives the data. It is rebuilt if a table of the dataset is replaced. Objects that
cannot be weakly referenced (a plain ``dict`` of tables, as in tests and notebooks) are not
cached: :func:`prepared` returns ``None`` and the caller filters the tables directly.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd

from riskcohort.features.data import normalise, tables_of

#: contract table -> column naming the person whose rows matter for evidence.
PERSON_COLUMN = {
    "persons": "person_id",
    "incidents": "perpetrator_id",
    "risk_assessments": "perpetrator_id",
    "orders": "subject_id",
    "custody": "person_id",
    "markers": "person_id",
    "referrals": "person_id",
    "interventions": "person_id",
}
_EMPTY = np.empty(0, dtype=np.intp)


class Positions:
    """Row positions of each distinct value of one column (nulls are never looked up).

    >>> p = Positions(pd.Series(["b", "a", None, "b"]))
    >>> p.of(["b"]).tolist(), p.of(["a", "b", "zz"]).tolist(), p.of(["zz"]).tolist()
    ([0, 3], [0, 1, 3], [])
    """

    def __init__(self, values: pd.Series):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        codes = np.asarray(codes)
        self._order = np.argsort(codes, kind="stable")  # nulls (-1) first, then by value
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        self._starts = np.concatenate([[0], np.cumsum(counts)]) + int((codes < 0).sum())
        self._values = pd.Index(uniques)

    def of(self, keys) -> np.ndarray:
        """Ascending row positions whose value is one of ``keys``."""
        locs = self._values.get_indexer(pd.Index(list(keys), dtype=self._values.dtype))
        parts = [self._order[self._starts[k]:self._starts[k + 1]] for k in locs if k >= 0]
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


class PersonRows:
    """The normalised tables of one dataset and, per table, the positions of each person's rows."""

    def __init__(self, raw):
        self.sources = {n: f for n, f in raw.items() if f is not None}  # kept: ids stay unique
        self.tables = normalise(tables_of(raw))
        self._by = {n: Positions(self.tables[n][c]) for n, c in PERSON_COLUMN.items()
                    if n in self.tables}
        self._victim_of = Positions(self.tables["incidents"]["victim_id"])
        if "relationships" in self.tables:
            r = self.tables["relationships"]
            for col in ("relationship_id", "person_a_id", "person_b_id"):
                self._by[f"relationships.{col}"] = Positions(r[col])

    def matches(self, raw) -> bool:
        """Whether ``raw`` still holds the very frames this was built from."""
        now = {n: f for n, f in raw.items() if f is not None}
        return now.keys() == self.sources.keys() and all(
            now[n] is self.sources[n] for n in now)

    def _take(self, name: str, rows: np.ndarray) -> pd.DataFrame:
        return self.tables[name].take(rows).reset_index(drop=True)

    def positions(self, person_id: str) -> dict[str, np.ndarray]:
        """Positions of the person's rows in each table, as ``evidence_rows._person_tables``
        selects them (plus the MARAC referrals of the person's victims, the relationships his
        incidents name or he is party to, and his victims' person rows and every incident
        against them), in the tables' order."""
        out = {n: self._by[n].of([person_id]) for n in PERSON_COLUMN if n in self._by}
        inc = self.tables["incidents"]
        victims = set(inc["victim_id"].take(out["incidents"]).dropna().astype(str))
        if "referrals" in out:
            out["referrals"] = self._by["referrals"].of({person_id, *victims})
        if "relationships" in self.tables:
            used = set(inc["relationship_id"].take(out["incidents"]).dropna().astype(str))
            rows = [self._by["relationships.relationship_id"].of(used),
                    self._by["relationships.person_a_id"].of([person_id]),
                    self._by["relationships.person_b_id"].of([person_id])]
            out["relationships"] = np.unique(np.concatenate(rows))
        # victim indicators: every incident against his victims and their person rows
        out["incidents"] = np.unique(np.concatenate([out["incidents"],
                                                     self._victim_of.of(victims)]))
        out["persons"] = self._by["persons"].of({person_id, *victims})
        return {n: out[n] for n in self.tables}

    def person_tables(self, person_id: str) -> dict[str, pd.DataFrame]:
        """The person's rows of each table (see :meth:`positions`), normalised."""
        return {n: self._take(n, rows) for n, rows in self.positions(person_id).items()}


_CACHE: dict[int, tuple[weakref.ref, PersonRows]] = {}
_LOCK = threading.Lock()


def prepared(data) -> PersonRows | None:
    """The dataset's :class:`PersonRows`, built on first use; ``None`` for a plain dict."""
    raw = getattr(data, "tables", None)
    if raw is None:
        return None
    key = id(data)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0]() is data:
            if entry[1].matches(raw):
                return entry[1]
            ref = entry[0]  # a table was replaced: rebuild, same owner
        else:
            try:
                ref = weakref.ref(data)
            except TypeError:  # not weak-referenceable: do not cache (an id could be reused)
                return None
            weakref.finalize(data, _forget, key, ref)
        rows = PersonRows(raw)
        _CACHE[key] = (ref, rows)
        return rows


def _forget(key: int, ref: weakref.ref) -> None:
    with _LOCK:
        if key in _CACHE and _CACHE[key][0] is ref:
            del _CACHE[key]


def cached_count() -> int:
    """Number of datasets currently prepared (for tests: nothing outlives its dataset)."""
    return len(_CACHE)
