"""What a new dataset version changes: row counts, reclassified fields and label flips.

Why label flips: a retrained model learns from labels, so a GBH downgraded to ABH, a near miss
recorded late or a domestic flag added silently changes what it is taught. ``label_flips`` lists
every (person, monthly training snapshot) of the default experiment whose serious-harm label
differs between the base and the new version. Only persons touched by an added, removed or
reclassified record are recomputed (a label depends on the person's own incidents and death date
only), with the label and population definitions of ``riskcohort.features`` (not a copy).

Labels at a snapshot count incidents recorded before each version's training as-of (the day after
its latest record), exactly as training does. Snapshots compared: those both versions would train
on. ``old``/``new`` is ``None`` when the person is not in that version's scored population at the
snapshot (e.g. a domestic flag added to their only incident).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from riskcohort.errors import UserError

logger = logging.getLogger(__name__)

#: Fields whose change can move a label or a person in or out of the scored population.
LABEL_COLUMNS = {
    "incidents": ("offence", "domestic", "occurred_at", "recorded_at", "perpetrator_id",
                  "victim_id", "injury", "weapon"),
    "persons": ("death_date",),
}
DEFAULT_EXPERIMENT = Path("experiments") / "iteration-3.toml"
MD_LIMIT = 50


def default_experiment() -> Path | None:
    """``experiments/iteration-3.toml`` in the working folder, else in the source checkout."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / DEFAULT_EXPERIMENT).is_file():
            return root / DEFAULT_EXPERIMENT
    return None


def label_settings(experiment=None, data_dir=None):
    """The experiment whose training labels are compared (its outcome and snapshot settings)."""
    from riskcohort.modelling.config import ExperimentConfig, load_experiment

    path = Path(experiment) if experiment else default_experiment()
    if path is None:
        return ExperimentConfig(name="defaults", path=None, data_dir=None)
    if not path.is_file():
        raise UserError(f"file {path}: rule experiment_file: not found (option --experiment)")
    return load_experiment(path, data=data_dir or ".")


def _json_value(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def reclassified(old, new, info: dict) -> list[dict]:
    """``{table, id, column, old, new}`` for every label-relevant field a replaced row changed."""
    out = []
    for table, cols in LABEL_COLUMNS.items():
        keys = (info.get(table) or {}).get("keys", {}).get("replaced", [])
        if not keys or table not in old.tables or table not in new.tables:
            continue
        from riskcohort.contract.schema import TABLES

        key = TABLES[table].key
        a = old.tables[table].drop_duplicates(key).set_index(key)
        b = new.tables[table].drop_duplicates(key).set_index(key)
        ids = [k for k in keys if k in a.index and k in b.index]
        for col in cols:
            if col not in a.columns or col not in b.columns:
                continue
            va, vb = a.loc[ids, col], b.loc[ids, col]
            same = ((va == vb).fillna(False).to_numpy(dtype=bool)
                    | (va.isna() & vb.isna()).to_numpy())
            for rid in np.asarray(ids, dtype=object)[~same]:
                out.append({"table": table, "id": str(rid), "column": col,
                            "old": _json_value(a.at[rid, col]), "new": _json_value(b.at[rid, col])})
    return out


def touched_persons(old, new, info: dict, changed: list[dict]) -> set[str]:
    """Persons whose labels may differ: perpetrators (old and new) of incidents added, removed
    or reclassified; persons rows added, removed or reclassified."""
    inc = info.get("incidents", {}).get("keys", {})
    ids = set(inc.get("added", [])) | set(inc.get("removed", []))
    ids |= {c["id"] for c in changed if c["table"] == "incidents"}
    people: set[str] = set()
    for ds in (old, new):
        frame = ds.tables["incidents"]
        people |= set(frame.loc[frame["incident_id"].isin(ids), "perpetrator_id"].astype(str))
    per = info.get("persons", {}).get("keys", {})
    people |= set(per.get("added", [])) | set(per.get("removed", []))
    people |= {c["id"] for c in changed if c["table"] == "persons"}
    return people


def training_snapshots(cfg, tables) -> tuple[object, list]:
    """(training as-of, monthly snapshots) the experiment would use on these tables."""
    from riskcohort.modelling.iteration import default_as_of
    from riskcohort.modelling.iteration import training_snapshots as snaps

    as_of = default_as_of(tables)
    try:
        return as_of, snaps(cfg, tables, as_of)
    except UserError:  # too little history for any snapshot: nothing is trained, nothing flips
        return as_of, []


def labels_at(tables, persons: set[str], snapshots, cfg, known_by) -> pd.DataFrame:
    """(person_id, as_of, serious_harm) for the scored population among ``persons``.

    Runs the features population and label SQL (``features.plan``) on these persons' rows only.
    """
    from riskcohort.features.data import as_of_index, normalise, tables_of
    from riskcohort.features.engine import connect, placed, run
    from riskcohort.features.plan import compile_labels, compile_plan

    empty = pd.DataFrame({"person_id": pd.Series(dtype=str), "as_of": pd.Series(dtype="M8[ns]"),
                          "serious_harm": pd.Series(dtype="int64")})
    if not persons or not snapshots:
        return empty
    inc = tables["incidents"]
    sub = {"persons": tables["persons"][tables["persons"]["person_id"].astype(str).isin(persons)],
           "incidents": inc[inc["perpetrator_id"].astype(str).isin(persons)]}
    t = normalise(tables_of(sub))
    plan = compile_plan(tuple(sorted(t)), int(cfg.lookback_days))
    con = connect(t)
    try:
        con.register("snapshots", pd.DataFrame({"as_of": as_of_index(snapshots)}))
        con.execute(f"CREATE TEMP TABLE pop AS {plan['population']}")
        pop = run(con, "SELECT rid, person_id, as_of FROM pop ORDER BY rid")
        sql = compile_labels(int(cfg.horizon_days), tuple(cfg.serious_offences),
                             bool(cfg.domestic_only), pd.Timestamp(known_by))
        lab = placed(run(con, sql), len(pop))
    finally:
        con.close()
    return pd.DataFrame({"person_id": pop["person_id"].astype(str).to_numpy(),
                         "as_of": pop["as_of"].to_numpy(),
                         "serious_harm": lab["serious_harm"].fillna(0).astype("int64").to_numpy()})


def label_flips(old, new, persons: set[str], cfg) -> tuple[list[dict], dict]:
    """``{person_id, as_of, old, new}`` where the training label differs; and the settings."""
    old_as_of, old_snaps = training_snapshots(cfg, old.tables)
    new_as_of, new_snaps = training_snapshots(cfg, new.tables)
    common = sorted(set(old_snaps) & set(new_snaps))
    a = labels_at(old.tables, persons, common, cfg, old_as_of)
    b = labels_at(new.tables, persons, common, cfg, new_as_of)
    both = a.merge(b, on=["person_id", "as_of"], how="outer", suffixes=("_old", "_new"))
    differs = both["serious_harm_old"].ne(both["serious_harm_new"]) & ~(
        both["serious_harm_old"].isna() & both["serious_harm_new"].isna())
    flips = both[differs].sort_values(["person_id", "as_of"])
    rows = [{"person_id": str(r.person_id), "as_of": str(pd.Timestamp(r.as_of).date()),
             "old": None if pd.isna(r.serious_harm_old) else int(r.serious_harm_old),
             "new": None if pd.isna(r.serious_harm_new) else int(r.serious_harm_new)}
            for r in flips.itertuples(index=False)]
    settings = {
        "experiment": str(cfg.path) if cfg.path else None,
        "horizon_days": int(cfg.horizon_days), "serious_offences": list(cfg.serious_offences),
        "domestic_only": bool(cfg.domestic_only), "lookback_days": int(cfg.lookback_days),
        "old_training_as_of": str(old_as_of), "new_training_as_of": str(new_as_of),
        "snapshots_compared": len(common),
        "first_snapshot": str(common[0]) if common else None,
        "last_snapshot": str(common[-1]) if common else None,
        "persons_recomputed": len(persons),
    }
    return rows, settings


def describe(old, new, info: dict, experiment=None) -> dict:
    """The body of ``changes.json`` (without the base/new header)."""
    cfg = label_settings(experiment, new.root)
    changed = reclassified(old, new, info)
    persons = touched_persons(old, new, info, changed)
    flips, settings = label_flips(old, new, persons, cfg)
    counts = {n: {k: i[k] for k in ("added", "replaced", "removed")} for n, i in info.items()}
    return {
        "counts": counts,
        "tables": {n: {"source": i["source"], "file": i["file"],
                       "rows_base": _rows(old, n), "rows_new": _rows(new, n), **counts[n]}
                   for n, i in info.items()},
        "reclassified": changed,
        "label_flips": flips,
        "label_settings": settings,
        "quarantined": {"base": _quarantined(old), "new": _quarantined(new)},
    }


def _rows(ds, name: str) -> int | None:
    report = getattr(ds, "report", None)
    if report is None or name not in report.tables:
        return None
    return int(report.tables[name].read)


def _quarantined(ds) -> dict[str, int]:
    report = getattr(ds, "report", None)
    if report is None:
        return {}
    return {n: int(t.quarantined) for n, t in report.tables.items() if t.quarantined}


def _flip_runs(flips: list[dict]) -> list[tuple]:
    """Consecutive snapshots of one person with the same change, as (person, first, last, old,
    new, n) - one readable line instead of twelve."""
    runs: list[list] = []
    for f in flips:
        last = runs[-1] if runs else None
        if last and last[0] == f["person_id"] and (last[3], last[4]) == (f["old"], f["new"]):
            last[2] = f["as_of"]
            last[5] += 1
        else:
            runs.append([f["person_id"], f["as_of"], f["as_of"], f["old"], f["new"], 1])
    return [tuple(r) for r in runs]


def _label(v) -> str:
    return {None: "not scored", 0: "no serious harm", 1: "serious harm"}[v]


def markdown(report: dict) -> str:
    """``changes.md``: the same facts as changes.json, for a person."""
    s = report.get("label_settings", {})
    lines = [
        "# Dataset update", "",
        f"- base: `{report['base']['dir']}` (fingerprint `{report['base']['fingerprint'][:12]}`)",
        f"- new version: `{report['new']['dir']}` (fingerprint "
        f"`{report['new']['fingerprint'][:12]}`), contract {report['contract_version']}, "
        f"created {report['created_at']}", "",
        "## Rows per table", "",
        "| table | from | rows before | rows after | added | replaced | removed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in report["tables"].items():
        before = t["rows_base"] if t["rows_base"] is not None else "-"
        lines.append(f"| {name} | {t['source']} | {before} | {t['rows_new']} | {t['added']} "
                     f"| {t['replaced']} | {t['removed']} |")
    changed = report["reclassified"]
    lines += ["", f"## Reclassified fields ({len(changed)})", ""]
    if changed:
        lines += ["| table | id | field | was | now |", "|---|---|---|---|---|"]
        lines += [f"| {c['table']} | {c['id']} | {c['column']} | {c['old']} | {c['new']} |"
                  for c in changed[:MD_LIMIT]]
        if len(changed) > MD_LIMIT:
            lines.append(f"\n... and {len(changed) - MD_LIMIT} more in changes.json")
    else:
        lines.append("No label-relevant field of an existing record changed.")
    flips = report["label_flips"]
    people = len({f["person_id"] for f in flips})
    lines += ["", f"## Training labels that change ({len(flips)} snapshot labels, {people} people)",
              "",
              f"Serious harm ({', '.join(s.get('serious_offences', []))}"
              f"{', domestic only' if s.get('domestic_only') else ''}) within "
              f"{s.get('horizon_days')} days of each monthly training snapshot "
              f"({s.get('first_snapshot')} to {s.get('last_snapshot')}, "
              f"{s.get('snapshots_compared')} snapshots), counting incidents recorded before the "
              f"training as-of ({s.get('old_training_as_of')} before, "
              f"{s.get('new_training_as_of')} now). {s.get('persons_recomputed')} people touched "
              "by the update were recomputed.", ""]
    if flips:
        lines += ["| person | snapshots | was | now |", "|---|---|---|---|"]
        for pid, first, last, o, n, count in _flip_runs(flips)[:MD_LIMIT]:
            when = first if count == 1 else f"{first} to {last} ({count})"
            lines.append(f"| {pid} | {when} | {_label(o)} | {_label(n)} |")
    else:
        lines.append("No training label changes.")
    q = report.get("quarantined", {})
    if q.get("new"):
        lines += ["", "## Quarantined rows in the new version", "",
                  ", ".join(f"{n}: {c}" for n, c in q["new"].items())
                  + " (run `riskcohort validate` for the rules they break)"]
    return "\n".join(lines) + "\n"


def key_changes(old, new) -> dict[str, dict]:
    """Per-table added / replaced / removed primary keys between two loaded dataset versions
    (replaced = key in both with a label-relevant field changed), in ``describe``'s ``info``
    shape, for two versions not linked by ``data update`` (e.g. champion's data vs new export)."""
    from riskcohort.contract.schema import TABLES

    info: dict[str, dict] = {}
    for name in ("persons", "incidents"):
        if name not in old.tables or name not in new.tables:
            continue
        key = TABLES[name].key
        a = old.tables[name].drop_duplicates(key).set_index(key)
        b = new.tables[name].drop_duplicates(key).set_index(key)
        common = a.index.intersection(b.index)
        cols = [c for c in LABEL_COLUMNS[name] if c in a.columns and c in b.columns]
        changed = np.zeros(len(common), dtype=bool)
        for col in cols:
            va, vb = a.loc[common, col], b.loc[common, col]
            changed |= ~(((va == vb).fillna(False).to_numpy(dtype=bool))
                         | (va.isna() & vb.isna()).to_numpy())
        keys = {"added": [str(k) for k in b.index.difference(a.index)],
                "removed": [str(k) for k in a.index.difference(b.index)],
                "replaced": [str(k) for k in common[changed]]}
        info[name] = {"source": "compared", "file": "", **{k: len(v) for k, v in keys.items()},
                      "keys": keys}
    return info


def compare_versions(old_dir, new_dir, experiment=None) -> dict:
    """What changed between two dataset folders: ``changes.json`` of the new one when it is a
    ``data update`` of the old one (same fingerprint), else computed by primary key."""
    from riskcohort.contract import load_dataset
    from riskcohort.datasets.update import load_manifest

    new = load_dataset(new_dir)
    old = load_dataset(old_dir)
    manifest = load_manifest(new_dir)
    saved = Path(new_dir) / "changes.json"
    if manifest.get("base_fingerprint") == old.fingerprint and saved.is_file():
        import json

        return json.loads(saved.read_text(encoding="utf-8"))
    if old.fingerprint == new.fingerprint:
        return {"counts": {}, "reclassified": [], "label_flips": [], "same_data": True}
    info = key_changes(old, new)
    report = describe(old, new, info, experiment=experiment)
    report["base"] = {"dir": str(old.root), "fingerprint": old.fingerprint}
    report["new"] = {"dir": str(new.root), "fingerprint": new.fingerprint}
    return report
