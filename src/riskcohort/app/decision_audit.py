"""Decision audit for the board (issue 19.6): who the team adopts, refuses, refers and acts on.

Rates by sex, ethnicity and age band come from the app's database (decisions, plan tactics) and
the persons table of the data folder (``alerts.data_dir``); protected characteristics are used
here only to audit the team's decisions, never by the model. Denominator: people with at least
one decision or a manual addition; a person counts once per outcome (ever adopted, refused,
referred, given a tactic, added manually). 95% Wilson intervals; groups of fewer than
:data:`SMALL` people are marked (their rates are too uncertain to read). Override rates
compare decisions in the current iteration with the cohort (top k): adopted outside it, not
adopted inside it.

One owner: :func:`decision_audit` is what the governance page shows, and :func:`for_run` hands
the very same dict (plain JSON types) to the governance pack (``riskcohort report RUN --db URL``
through ``riskcohort.workflow.report``), which only renders it: the governance stage may not
import the app, and a second computation would drift from the page.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from riskcohort.app.alerts import data_dir, load_tables
from riskcohort.app.db import decisions
from riskcohort.app.plans import plans, tactics
from riskcohort.errors import UserError

SMALL = 10
AGE_BANDS = ((0, 25, "under 25"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"),
             (55, 200, "55 and over"))
OUTCOMES = {"adopt": "adopted", "not_adopt": "not adopted", "refer": "referred",
            "tactic": "given a tactic", "manual": "added manually"}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of k/n.

    >>> [round(x, 3) for x in wilson(5, 10)]
    [0.237, 0.763]
    """
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def age_band(born, as_of: pd.Timestamp) -> str:
    if born is None or born != born:
        return "unknown"
    age = (as_of - pd.Timestamp(born)).days / 365.25
    return next((name for lo, hi, name in AGE_BANDS if lo <= age < hi), "unknown")


def people_outcomes(engine: Engine) -> pd.DataFrame:
    """One row per decided person: which outcomes they ever had (booleans)."""
    with engine.connect() as conn:
        d = pd.DataFrame(conn.execute(select(decisions.c.person_id, decisions.c.decision)).all(),
                         columns=["person_id", "decision"])
        t = {r[0] for r in conn.execute(select(plans.c.person_id).join(
            tactics, tactics.c.plan_id == plans.c.id)).all()}
    from riskcohort.app.manual import ids as manual_ids

    added = manual_ids(engine)
    d = pd.concat([d, pd.DataFrame({"person_id": sorted(added), "decision": "manual"})])
    if d.empty:
        return pd.DataFrame(columns=["person_id", *OUTCOMES])
    out = (d.assign(v=True).pivot_table(index="person_id", columns="decision", values="v",
                                        aggfunc="any", fill_value=False))
    for k in ("adopt", "not_adopt", "refer", "manual"):
        if k not in out:
            out[k] = False
    out["tactic"] = out.index.isin(t)
    return out[list(OUTCOMES)].astype(bool).reset_index()


def rates(engine: Engine, persons: pd.DataFrame | None, as_of: pd.Timestamp) -> dict:
    """Rates by sex, ethnicity and age band: rows of (group, n, per outcome k/rate/lo/hi)."""
    people = people_outcomes(engine)
    if persons is not None and len(persons):
        people = people.merge(persons, on="person_id", how="left")
    for c in ("sex", "ethnicity"):
        people[c] = people[c].fillna("unknown") if c in people else "unknown"
    people["age band"] = [age_band(b, as_of) for b in people.get("birth_date",
                                                                 [None] * len(people))]
    tables = {}
    for by in ("sex", "ethnicity", "age band"):
        rows = []
        for group, g in [("all", people), *sorted(people.groupby(by))]:
            n = len(g)
            cells: list[dict[str, object]] = []
            row = {"group": str(group), "n": n, "small": n < SMALL, "cells": cells}
            for k, words in OUTCOMES.items():
                hits = int(g[k].sum()) if n else 0
                lo, hi = wilson(hits, n)
                cells.append({"outcome": words, "k": hits,
                                     "rate": hits / n if n else None,
                                     "lo": lo if n else None, "hi": hi if n else None,
                                     "text": "–" if not n else
                                     f"{hits / n:.0%} ({lo:.0%} to {hi:.0%})"})
            rows.append(row)
        tables[by] = rows
    return {"tables": tables, "outcomes": list(OUTCOMES.values()), "n": len(people),
            "small": SMALL}


def overrides(engine: Engine, it) -> dict:
    """Adopted outside the cohort, not adopted inside it (current iteration's latest decisions)."""
    from riskcohort.app.decisions import status_map

    latest = status_map(engine, it.name)
    cohort = set(it.scores.index[it.scores["in_cohort"].astype(bool)])
    adopted = [p for p, s in latest.items() if s == "adopted"]
    refused = [p for p, s in latest.items() if s == "not adopted"]
    out_adopt = [p for p in adopted if p not in cohort]
    in_refuse = [p for p in refused if p in cohort]
    reviewed_in = sum(p in cohort for p in latest)

    def share(k, n):
        lo, hi = wilson(k, n)
        return f"{k} of {n}" + (f" ({k / n:.0%}; {lo:.0%} to {hi:.0%})" if n else "")
    return {"adopted_outside": share(len(out_adopt), len(adopted)),
            "refused_inside": share(len(in_refuse), reviewed_in),
            "outside_ids": sorted(out_adopt)[:20], "inside_ids": sorted(in_refuse)[:20]}


def decision_audit(engine: Engine, it, data: str | Path | None = None) -> dict:
    """Everything the governance page's decision audit shows (``data``: the folder of the
    persons table; default the app's data folder, else the run's)."""
    d = Path(data) if data is not None else data_dir(it)
    if d is not None and not d.is_dir():
        raise UserError(f"--data {d}: rule an existing data folder (its persons table gives "
                        "sex, ethnicity and birth date)")
    persons = None
    if d is not None:
        persons = load_tables(d, {"persons": ["person_id", "sex", "ethnicity", "birth_date"]}
                              ).get("persons")
    out = rates(engine, persons, pd.Timestamp(it.as_of))
    out["overrides"] = overrides(engine, it)
    out["has_persons"] = persons is not None
    out["iteration"], out["as_of"] = it.name, str(it.as_of)
    return out


def for_run(db: str, run_dir: str | Path, data: str | Path | None = None) -> dict:
    """The decision audit of ``run_dir``'s iteration from the review app's database ``db``,
    read only (nothing is created or migrated: a wrong URL or path must not leave an empty
    database behind). The dict the governance page shows, plus ``computed_at`` and the
    database (password hidden), for the pack to say where its numbers come from."""
    from sqlalchemy import inspect

    from riskcohort.app.db import make_engine, normalise_url
    from riskcohort.app.rundata import load_iteration

    url = normalise_url(db)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise UserError(f"--db {db}: no such database file; rule: the database "
                        "`riskcohort serve` uses (e.g. <run parent>/app.db)")
    engine = make_engine(db)
    try:
        try:
            present = set(inspect(engine).get_table_names())
        except Exception as exc:  # connection refused, bad credentials
            raise UserError(f"--db {db}: cannot open database: {type(exc).__name__}: "
                            f"{exc}") from exc
        missing = sorted({"decisions", "plans", "tactics", "manual_additions"} - present)
        if missing:
            raise UserError(f"--db {db}: no review-app tables ({', '.join(missing)} missing); "
                            "rule: the database `riskcohort serve` uses, migrated by it")
        out = decision_audit(engine, load_iteration(run_dir), data)
        out["database"] = describe_db(engine.url)
    finally:
        engine.dispose()
    out["computed_at"] = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return out


def describe_db(url) -> str:
    """The database as the pack names it: kind and name, never a path of this machine or a
    host (the pack is shared with a board; it must not carry either).

    >>> from sqlalchemy.engine import make_url
    >>> describe_db(make_url("sqlite:////srv/app/app.db"))
    'SQLite database app.db'
    >>> describe_db(make_url("postgresql+psycopg://u:pw@db.local:5432/dapst"))
    'PostgreSQL database dapst'
    """
    kind = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(url.get_backend_name(),
                                                              url.get_backend_name())
    name = Path(url.database).name if url.database else "(unnamed)"
    return f"{kind} database {name}"
