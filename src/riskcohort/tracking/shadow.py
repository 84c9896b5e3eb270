"""Shadow mode: freeze a cohort now, evaluate it once its outcome window has passed.

Why: before relying on the engine, a force should see it work on its own data, prospectively.
``freeze`` stamps a run's scored list (person ids, scores, ranks, cohort flag), its run manifest,
horizon, as-of and outcome settings with a sha256 over all of it and the time of freezing;
nothing in the file can change afterwards without the stamp failing. ``evaluate`` refuses until
the data's latest record is past ``as_of + horizon`` (the whole window is observed), verifies the
stamp, and counts only outcomes **recorded after the freeze**: an outcome already on record when
the cohort was frozen could have shaped the list (a person added because of it), so it proves
nothing. Such outcomes are counted and reported apart (``excluded_recorded_before_freeze``).

The outcome is the features label (``features.plan.compile_labels``: serious harm occurring in
``[as_of, as_of + horizon)``, the run's serious offences, domestic only as the run was), applied
to incidents recorded after the freeze.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from pathlib import Path

import pandas as pd

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

FORMAT = "riskcohort.shadow/1"
Z95 = 1.959963984540054


def canonical(payload: dict) -> bytes:
    """The bytes the stamp covers: sorted-key compact JSON of everything but ``sha256``."""
    body = {k: v for k, v in payload.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def stamp(payload: dict) -> str:
    """sha256 hex of :func:`canonical`."""
    return hashlib.sha256(canonical(payload)).hexdigest()


def freeze(run_dir, out, *, frozen_at: dt.datetime | None = None) -> dict:
    """Write the stamped cohort of ``run_dir`` to ``out`` (refuses to overwrite a stamp).

    ``frozen_at`` is for tests and simulated shadow runs only; the command uses the clock.
    """
    from riskcohort import runfolder
    from riskcohort.io import write_text

    out = Path(out)
    if out.exists():
        raise UserError(f"file {out}: rule never_overwrite_a_stamp: it exists; a frozen cohort "
                        "is evidence and is never replaced (choose another --out)")
    run = runfolder.open_run(run_dir)
    m = run.manifest
    scores = run.scores.sort_values("rank")
    when = (frozen_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    payload = {
        "format": FORMAT,
        "frozen_at": when.isoformat(timespec="seconds"),
        "run_dir": str(Path(run_dir).resolve()),
        "run_manifest": m.to_dict(),
        "run_json_sha256": _sha256_file(Path(run_dir) / "run.json"),
        "as_of": str(pd.Timestamp(m.as_of).date()),
        "horizon_days": int(m.horizon_days),
        "serious_offences": list(m.serious_offences or _default_offences()),
        "domestic_only": bool(m.domestic_only),
        "k": int(m.k),
        "data_fingerprint": m.fingerprint,
        "cohort": [{"person_id": str(r.person_id), "score": float(r.score), "rank": int(r.rank),
                    "in_cohort": bool(r.in_cohort)} for r in scores.itertuples(index=False)],
    }
    payload["sha256"] = stamp(payload)
    write_text(out, json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    return payload


def _default_offences() -> list[str]:
    from riskcohort.contract.schema import SERIOUS_HARM_OFFENCES

    return list(SERIOUS_HARM_OFFENCES)


def _sha256_file(path: Path) -> str | None:
    from riskcohort.io import sha256_file

    return sha256_file(path) if path.is_file() else None


def load_frozen(path) -> dict:
    """A frozen cohort with its stamp verified; tampering is a ``UserError`` (exit 2)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"file {path}: rule readable_frozen_cohort: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "sha256" not in payload:
        raise UserError(f"file {path}: rule frozen_cohort_format: not a cohort frozen by "
                        f"`riskcohort shadow freeze` (format {FORMAT})")
    if stamp(payload) != payload["sha256"]:
        raise UserError(f"file {path}: rule stamp_intact: the content does not match the sha256 "
                        f"stamped at {payload.get('frozen_at')}: the frozen cohort was changed "
                        "after freezing, so it cannot be evaluated")
    return payload


def earliest_run_date(payload: dict) -> dt.date:
    """The first date whose records can complete the outcome window: as_of + horizon."""
    return (pd.Timestamp(payload["as_of"]) + pd.Timedelta(days=payload["horizon_days"])).date()


def wilson(hits: int, n: int) -> tuple[float, float, float]:
    """(share, lo, hi) with a 95% Wilson interval; NaNs when ``n`` is 0.

    >>> [round(v, 3) for v in wilson(5, 10)]
    [0.5, 0.237, 0.763]
    """
    if n == 0:
        return math.nan, math.nan, math.nan
    p = hits / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def outcomes(payload: dict, incidents: pd.DataFrame, persons: pd.DataFrame,
             recorded_after) -> pd.Series:
    """Serious-harm label (features' label SQL) per frozen person, counting only incidents
    recorded after ``recorded_after``."""
    from riskcohort.features.data import normalise, tables_of
    from riskcohort.features.engine import connect, placed, run
    from riskcohort.features.plan import compile_labels

    ids = [c["person_id"] for c in payload["cohort"]]
    inc = incidents[(incidents["recorded_at"] > pd.Timestamp(recorded_after))
                    & incidents["perpetrator_id"].astype(str).isin(set(ids))]
    t = normalise(tables_of({"persons": persons.iloc[:0], "incidents": inc}))
    pop = pd.DataFrame({"rid": range(len(ids)), "person_id": ids,
                        "as_of": pd.Timestamp(payload["as_of"])})
    pop["as_of"] = pop["as_of"].astype("datetime64[ns]")
    con = connect({"incidents": t["incidents"]})
    try:
        con.register("pop", pop)
        sql = compile_labels(int(payload["horizon_days"]), tuple(payload["serious_offences"]),
                             bool(payload["domestic_only"]), None)
        lab = placed(run(con, sql), len(pop))
    finally:
        con.close()
    return pd.Series(lab["serious_harm"].fillna(0).astype(int).to_numpy(), index=ids)


def _utc_naive(value: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def evaluate(frozen_path, data_dir, *, ks=None, out=None) -> dict:
    """Recall and precision at k of the frozen cohort on outcomes recorded after the freeze."""
    from riskcohort.contract import load_dataset
    from riskcohort.io import write_json

    payload = load_frozen(frozen_path)
    data = load_dataset(data_dir)
    incidents = data.tables["incidents"]
    latest = pd.Timestamp(incidents["recorded_at"].max())
    ready = earliest_run_date(payload)
    if latest < pd.Timestamp(ready):
        raise UserError(
            f"folder {data_dir}: rule outcome_window_observed: the frozen cohort (as of "
            f"{payload['as_of']}, {payload['horizon_days']}-day horizon) can be evaluated from "
            f"{ready}, when the data hold records past as-of + horizon; the data's latest record "
            f"is {latest}. Run again with an extract taken on or after {ready}")
    # the freeze is stamped in UTC, records carry local wall-clock time: the UTC instant is
    # compared as is (an offset of an hour or two either way; documented)
    frozen_at = _utc_naive(payload["frozen_at"])
    after = max(frozen_at, pd.Timestamp(payload["as_of"]))
    y = outcomes(payload, incidents, data.tables["persons"], after)
    y_all = outcomes(payload, incidents, data.tables["persons"], pd.Timestamp.min)
    ranks = pd.Series({c["person_id"]: c["rank"] for c in payload["cohort"]})
    n = len(ranks)
    positives = int(y.sum())
    ks = sorted({int(k) for k in (ks or [payload["k"]]) if int(k) > 0})
    rows = []
    for k in ks:
        top = ranks.index[ranks <= k]
        hits = int(y.loc[top].sum())
        kk = min(k, n)
        p, plo, phi = wilson(hits, kk)
        r, rlo, rhi = wilson(hits, positives)
        rows.append(_finite({"k": k, "hits": hits, "precision": p, "precision_lo": plo,
                             "precision_hi": phi, "recall": r, "recall_lo": rlo,
                             "recall_hi": rhi}))
    result = {
        "frozen_cohort": str(Path(frozen_path).resolve()), "sha256": payload["sha256"],
        "frozen_at": payload["frozen_at"], "as_of": payload["as_of"],
        "horizon_days": payload["horizon_days"], "window_end": str(ready),
        "data_dir": str(Path(data_dir).resolve()), "data_fingerprint": data.fingerprint,
        "data_latest_record": str(latest), "outcomes_recorded_after": str(after),
        "scored": n, "positives": positives,
        "excluded_recorded_before_freeze": int(((y_all > 0) & (y == 0)).sum()),
        "base_rate": positives / n if n else None,
        "at_k": rows,
        "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if out is not None:
        write_json(out, result)
    return result


def _finite(row: dict) -> dict:
    """NaN (no positives, empty list) as null: strict JSON readers reject NaN."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def render(result: dict) -> str:
    """Plain-text summary for the terminal."""
    lines = [
        f"Frozen cohort as of {result['as_of']} (frozen {result['frozen_at']}, stamp "
        f"{result['sha256'][:12]} verified); outcome window to {result['window_end']}.",
        f"{result['scored']} people scored; {result['positives']} had serious harm recorded "
        f"after the freeze ({result['excluded_recorded_before_freeze']} more were already on "
        "record when it was frozen and are not counted).",
    ]
    for r in result["at_k"]:
        lines.append(
            f"top {r['k']}: {r['hits']} of them had serious harm - precision "
            f"{_pct(r['precision'])} [{_pct(r['precision_lo'])}, {_pct(r['precision_hi'])}], "
            f"recall {_pct(r['recall'])} [{_pct(r['recall_lo'])}, {_pct(r['recall_hi'])}] "
            "(95% Wilson intervals)")
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"
