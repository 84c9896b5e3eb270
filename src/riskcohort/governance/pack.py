"""``report(run_dir)``: the governance pack as one self-contained HTML file (+ ATRS markdown).

Why one file: an ethics panel, a data protection officer or an inspector must be able to read,
archive and compare the pack offline, years later, without the engine; so every chart is inlined
as a data URI and nothing refers outside the file. The same facts feed the HTML, the
Algorithmic Transparency Recording Standard record and ``fairness.json`` for the review app.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pandas as pd

from riskcohort.errors import UserError
from riskcohort.governance import equal_risk, fairness, plots, sections, texts
from riskcohort.governance.protected import source_summary
from riskcohort.io import atomic_path, write_json, write_text
from riskcohort.runfolder import attach, open_run, previous_run_dir

N_BOOT = 500


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskcohort.governance", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False), trim_blocks=True,
        lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = fmt
    env.filters["ratio"] = lambda v: "-" if v is None or v != v else f"{float(v):.3f}"
    return env


def fmt(value, digits: int = 3) -> str:
    """A number for a table: 3 significant digits, '-' for missing.

    >>> fmt(0.123456), fmt(None), fmt(12345.6), fmt(float("nan"))
    ('0.123', '-', '12346', '-')
    """
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, int | bool):
        return str(value)
    v = float(value)
    return f"{v:.0f}" if abs(v) >= 10**digits else f"{v:.{digits}g}"


def _facts(run, perf, fair, data, catalogue) -> dict:
    """Run-specific facts quoted in ALGO-CARE and ATRS."""
    model = perf["metrics"].get("systems", {}).get("model", {})
    auc = model.get("roc_auc")
    k = run.manifest.get("k", 100)
    rec = model.get(f"recall@{k}") or model.get(f"recall_at_{k}")
    acc = [f"ROC AUC {fmt(auc['value'])} [{fmt(auc.get('lo'))}, {fmt(auc.get('hi'))}]"
           if auc else None,
           f"recall in the top {k} {fmt(rec['value'])} [{fmt(rec.get('lo'))}, "
           f"{fmt(rec.get('hi'))}]" if rec else None]
    acc = [a for a in acc if a]
    present = [r["table"] for r in data["sources"] if r["present"]]
    absent = ([r["table"] for r in data["sources"] if not r["present"]]
              if data["data_dir_found"] else list(run.manifest.get("absent_sources") or []))
    er = fair["equal_risk_flags"]
    features = run.manifest.get("features") or []
    if run.features is not None and not features:
        features = [c for c in run.features.columns if c not in ("person_id", "as_of")]
    age_inputs = [f for f in features if re.search(r"(^|_)(age|birth)(_|$)", f)]
    return {
        "age_inputs": age_inputs,
        "as_of": str(run.as_of.date()) if run.as_of is not None else "unknown",
        "horizon": run.manifest.get("horizon_days", 365), "k": k,
        "accuracy_text": ("; ".join(acc) + ".") if acc else "metrics.json not available.",
        "sources_present": ", ".join(present) or "unknown", "sources_absent": ", ".join(absent),
        "quarantine_text": data["quarantine_text"],
        "n_flags": len(fair["flags"]), "n_bias_flags": _model_bias_flags(er, fair),
        "n_rule_bias_flags": _rule_bias_flags(fair.get("by_system_flags")),
        "n_indicators": len(catalogue["items"]) or len(run.manifest.get("features") or []),
        "experiment": run.manifest.get("experiment", "unnamed experiment"),
    }


def _model_bias_flags(er, fair) -> int:
    """Distinct (attribute, group) flagged for the model, in its cohort or its top 2%."""
    keys = set() if er is None else set(zip(er["attribute"], er["group"], strict=True))
    bs = fair.get("by_system_flags")
    if bs is not None and not bs.empty:
        m = bs[bs["system"] == "model"]
        keys |= set(zip(m["attribute"], m["group"], strict=True))
    return len(keys)


def _rule_bias_flags(flags) -> int:
    """Flagged (baseline, cut-off, group) rows of the by-system check; the model's own rows are
    in ``n_bias_flags`` (its cohort) or listed with the table."""
    return 0 if flags is None or flags.empty else int((flags["system"] != "model").sum())


def _quarantine_text(validation: dict | None) -> str:
    if not validation:
        return "no validation summary in the run folder (validation/validation.json)"
    total = validation.get("quarantined", validation.get("quarantined_rows"))
    if isinstance(total, dict):
        total = sum(v for v in total.values() if isinstance(v, int | float))
    return f"{total} input rows quarantined" if total is not None else "validation summary present"


def build(run_dir, previous=None, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Everything the pack shows, as a dict (also used by tests)."""
    run = open_run(run_dir)
    frame = sections.audit_frame(run)
    fair = sections.fairness_section(frame, n_boot, seed, k=int(run.manifest.get("k", 100)))
    perf = sections.performance_section(run)
    data = {"sources": source_summary(run.data_dir), "validation": run.validation,
            "quarantine_text": _quarantine_text(run.validation),
            "data_dir_found": bool(run.data_dir and run.data_dir.is_dir())}
    catalogue = sections.catalogue_section(run)
    facts = _facts(run, perf, fair, data, catalogue)
    return {
        "run": run, "manifest": run.manifest, "facts": facts, "fair": fair, "perf": perf,
        "data": data, "catalogue": catalogue, "frame_size": len(frame),
        "stability": sections.stability_section(run),
        "drift": sections.drift_section(run, previous_run_dir(run, previous)),
        "explain_plots": [(p.stem, plots.file_uri(p)) for p in run.plots
                          if p.suffix == ".png" or not p.with_suffix(".png").exists()],
        "model_details": sections.model_details(run.manifest),
        "validation_rows": sections.validation_rows(run.validation),
        "algo_care": texts.algo_care(facts), "texts": texts, "thresholds": fairness,
        "er": equal_risk,
        "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
    }


def report(run_dir, out=None, pdf: bool = False, previous=None, n_boot: int = N_BOOT,
           seed: int = 0) -> Path:
    """Write the governance pack for ``run_dir``; return the HTML path.

    Also writes ``<out stem>.atrs.md`` beside the HTML, ``fairness.json`` in the run folder and,
    with ``pdf=True``, ``<out stem>.pdf`` (needs WeasyPrint).
    """
    ctx = build(run_dir, previous=previous, n_boot=n_boot, seed=seed)
    run = ctx["run"]
    out = Path(out) if out else run.root / "report.html"
    env = _env()
    atrs = env.get_template("atrs.md").render(**ctx)
    html = env.get_template("report.html").render(atrs=atrs, **ctx)
    derived(run, out, lambda p: write_text(p, html))
    derived(run, out.with_suffix(".atrs.md"), lambda p: write_text(p, atrs))
    write_fairness(run, ctx["fair"], run.as_of)
    if pdf:
        derived(run, out.with_suffix(".pdf"), lambda p: write_pdf(html, p))
    return out


def derived(run, path: Path, write) -> Path:
    """Write a file derived from a published run. Inside the run folder it becomes an
    *attachment* (``runfolder.attach``: recorded with its sha256, never part of the verified
    run); elsewhere an ordinary atomic write."""
    path = Path(path)
    if path.parent.resolve() == run.root.resolve():
        return attach(run.root, path.name, write)
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def write_fairness(run, fair: dict, as_of) -> None:
    """``fairness.json`` (full precision, for programs) and ``fairness*.csv`` (rounded, the
    tables the review app lists), attached to the run folder."""
    data = sections.fairness_json(fair, as_of)
    derived(run, run.root / "fairness.json", lambda p: write_json(p, data))
    tables = {"fairness.csv": fair["table"], "fairness_equal_risk.csv": fair["equal_risk"],
              "fairness_equal_risk_by_system.csv": fair.get("by_system")}
    for name, table in tables.items():
        if table is not None:
            derived(run, run.root / name, lambda p, t=table: t.round(4).to_csv(p, index=False))


def write_pdf(html: str, path: Path) -> Path:
    """Render the HTML to PDF with WeasyPrint; a clear UserError if it is not installed."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise UserError(
            f"--pdf needs WeasyPrint and its system libraries (pango), which are not usable here "
            f"({exc.__class__.__name__}: {exc}); install them or omit --pdf (the HTML report "
            "is complete on its own)") from exc
    with atomic_path(path) as tmp:
        HTML(string=html).write_pdf(tmp)
    return path
