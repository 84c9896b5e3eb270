"""Alerts for managed people (issue 19.4): what the records say happened since the last review.

For every open plan, a new incident (a breach of an order is named as such), risk assessment,
release from custody or separation recorded after the plan's last review (or its creation) is an
alert, newest first, until a DAPST user acknowledges it (sealed ``alert_acks`` row, action
``alert_ack``). Alerts come from the data the app is given - ``serve --data DIR`` (environment
``RISKCOHORT_APP_DATA``) or the current run's data folder - never a live feed; the folder is
re-read when its files change, so replacing the extract (a "data refresh") shows new alerts
without a restart.

The app's times are UTC; the contract's are local without a zone, so the review time is
converted to local time before comparing. Custody has no recorded time: a release counts when
its end date is after the review day and not in the future.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path

import pandas as pd
from sqlalchemy import Column, Integer, String, Table, select
from sqlalchemy.engine import Engine

from riskcohort.app import audit as audit_log
from riskcohort.app.db import inserted_id, metadata
from riskcohort.app.plans import plans

logger = logging.getLogger(__name__)
DATA_ENV = "RISKCOHORT_APP_DATA"

alert_acks = Table(
    "alert_acks", metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_key", String(300), nullable=False, index=True),
    Column("person_id", String(128), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("audit_id", Integer, nullable=True),
)
audit_log.register_sealed(alert_acks)

TABLES = {"incidents": ["incident_id", "recorded_at", "perpetrator_id", "offence"],
          "risk_assessments": ["assessment_id", "assessed_at", "perpetrator_id", "tool", "grade"],
          "custody": ["custody_id", "person_id", "end_date", "kind"],
          "relationships": ["relationship_id", "person_a_id", "person_b_id", "kind", "end_date",
                            "end_recorded_at"]}
_cache: dict = {}
_lock = threading.Lock()


def data_dir(it) -> Path | None:
    """The folder alerts are computed from: ``--data`` if given, else the run's data folder."""
    given = os.environ.get(DATA_ENV)
    d = Path(given) if given else getattr(it, "data_dir", None)
    return d if d and Path(d).is_dir() else None


def _files(d: Path, spec: dict) -> dict[str, Path]:
    out = {}
    for name in spec:
        for ext in (".parquet", ".csv"):
            if (d / f"{name}{ext}").is_file():
                out[name] = d / f"{name}{ext}"
                break
    return out


def load_tables(d: Path, spec: dict[str, list[str]] | None = None) -> dict[str, pd.DataFrame]:
    """The few columns needed (``spec``: table -> columns; default: the alerts'), re-read when a
    file changes (cached by modification time and size). Also used by ``victims``."""
    spec = spec or TABLES
    files = _files(d, spec)
    stamp = tuple((n, p.stat().st_mtime_ns, p.stat().st_size) for n, p in sorted(files.items()))
    ckey = (str(d), tuple(sorted((k, tuple(v)) for k, v in spec.items())))
    with _lock:
        hit = _cache.get(ckey)
        if hit and hit[0] == stamp:
            return hit[1]
    tables = {}
    for name, path in files.items():
        try:
            frame = (pd.read_parquet(path) if path.suffix == ".parquet"
                     else pd.read_csv(path, dtype=str))
        except Exception as exc:  # an unreadable extract shows no alerts from it, and says so
            logger.warning("alerts: cannot read %s: %s", path, exc)
            continue
        cols = [c for c in spec[name] if c in frame.columns]
        frame = frame[cols].copy()
        for c in cols:
            if c.endswith(("_at", "_date")) or c == "birth_date":
                frame[c] = pd.to_datetime(frame[c], errors="coerce")
            elif c != "children_present":
                frame[c] = frame[c].astype("string")
        tables[name] = frame
    with _lock:
        _cache[ckey] = (stamp, tables)
    return tables


def _local(iso_utc: str) -> pd.Timestamp:
    t = dt.datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    return pd.Timestamp(t.astimezone().replace(tzinfo=None))


def _words(v) -> str:
    return str(v).replace("_", " ") if v is not None and v == v else "not recorded"


def compute(engine: Engine, tables: dict[str, pd.DataFrame], today: dt.date | None = None
            ) -> list[dict]:
    """Unacknowledged alerts for every open plan, newest first."""
    today = pd.Timestamp(today or dt.date.today())
    with engine.connect() as conn:
        open_plans = [dict(r) for r in conn.execute(select(plans).where(plans.c.status == "open"))
                      .mappings()]
        acked = set(conn.execute(select(alert_acks.c.alert_key)).scalars())
    since = {p["person_id"]: _local(p["last_review_at"] or p["created_at"]) for p in open_plans}
    owner = {p["person_id"]: p["owner"] for p in open_plans}
    out: list[dict] = []

    def add(pid, when, kind, what, table, rid):
        key = f"{pid}|{table}|{rid}|{kind}"
        if key not in acked:
            out.append({"key": key, "person_id": pid, "when": when, "kind": kind, "what": what,
                        "record": f"{table} {rid}", "owner": owner[pid]})

    if not since:
        return []
    inc = tables.get("incidents")
    if inc is not None and {"perpetrator_id", "recorded_at"} <= set(inc.columns):
        for r in inc[inc["perpetrator_id"].isin(since)].itertuples(index=False):
            if r.recorded_at == r.recorded_at and r.recorded_at > since[r.perpetrator_id]:
                offence = getattr(r, "offence", None)
                breach = offence == "breach_of_order"
                add(r.perpetrator_id, r.recorded_at, "order breach" if breach else "new incident",
                    f"{_words(offence).capitalize()} recorded", "incidents", r.incident_id)
    ra = tables.get("risk_assessments")
    if ra is not None and {"perpetrator_id", "assessed_at"} <= set(ra.columns):
        for r in ra[ra["perpetrator_id"].isin(since)].itertuples(index=False):
            if r.assessed_at == r.assessed_at and r.assessed_at > since[r.perpetrator_id]:
                add(r.perpetrator_id, r.assessed_at, "new assessment",
                    f"{_words(getattr(r, 'tool', None)).upper()} risk assessment graded "
                    f"{_words(getattr(r, 'grade', None))}", "risk_assessments", r.assessment_id)
    cu = tables.get("custody")
    if cu is not None and {"person_id", "end_date"} <= set(cu.columns):
        for r in cu[cu["person_id"].isin(since)].itertuples(index=False):
            if (r.end_date == r.end_date and r.end_date.normalize()
                    > since[r.person_id].normalize() and r.end_date <= today):
                add(r.person_id, r.end_date, "release from custody",
                    f"Released from {_words(getattr(r, 'kind', None))} custody", "custody",
                    r.custody_id)
    rel = tables.get("relationships")
    if rel is not None and {"person_a_id", "person_b_id", "end_date"} <= set(rel.columns):
        sub = rel[(rel["person_a_id"].isin(since) | rel["person_b_id"].isin(since))
                  & rel["end_date"].notna()]
        for r in sub.itertuples(index=False):
            known = getattr(r, "end_recorded_at", None)
            known = known if known is not None and known == known else r.end_date
            for pid in {r.person_a_id, r.person_b_id} & set(since):
                if known > since[pid]:
                    other = r.person_b_id if pid == r.person_a_id else r.person_a_id
                    add(pid, known, "separation",
                        f"Separation from {other} ({_words(r.kind)}) on "
                        f"{r.end_date:%Y-%m-%d}", "relationships", r.relationship_id)
    out.sort(key=lambda a: (a["when"], a["key"]), reverse=True)
    for a in out:
        a["when_text"] = (a["when"].strftime("%Y-%m-%d %H:%M") if a["when"].time() != dt.time()
                          else a["when"].strftime("%Y-%m-%d"))
    return out


def landing_alerts(web, principal) -> dict | None:
    """What the officer's landing page shows (DAPST only): alerts, own first count, folder."""
    if principal is None or principal.role != "dapst":
        return None
    d = data_dir(web.runs.current)
    if d is None:
        return {"alerts": [], "source": None, "mine": 0}
    try:
        alerts = compute(web.engine, load_tables(d))
    except Exception:  # a malformed extract must not take the cohort page down
        logger.exception("alerts: cannot compute from %s", d)
        return {"alerts": [], "source": d.name, "mine": 0, "failed": True}
    return {"alerts": alerts[:50], "total": len(alerts), "source": d.name,
            "mine": sum(a["owner"] == principal.name for a in alerts)}


def acknowledge(engine: Engine, it, key: str, *, user: str, ip: str) -> bool:
    """Acknowledge one current alert (sealed); False if it is not a current alert."""
    d = data_dir(it)
    if d is None or not key:
        return False
    current = {a["key"]: a for a in compute(engine, load_tables(d))}
    alert = current.get(key)
    if alert is None:
        return False
    with engine.begin() as conn:
        rid = inserted_id(conn.execute(alert_acks.insert().values(
            alert_key=key, person_id=alert["person_id"], user_name=user,
            at=audit_log.now_iso())))
        audit_log.seal_row(conn, alert_acks, rid, actor=user, action="alert_ack", ip=ip,
                           target=alert["person_id"],
                           detail={"alert": alert["kind"], "record": alert["record"]})
    return True
