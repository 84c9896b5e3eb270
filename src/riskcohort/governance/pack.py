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
import markupsafe
import pandas as pd

from riskcohort import display
from riskcohort.errors import UserError
from riskcohort.governance import (
    ablation,
    equal_risk,
    fairness,
    interventions,
    legal,
    persons,
    sections,
    status,
    texts,
)
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
    env.filters["ratio"] = lambda v: "-" if v is None or v != v else f"{float(v):.2f}"
    env.filters["pct"] = display.percent
    env.filters["count"] = display.count
    env.filters["sysname"] = display.system_name
    env.globals["d"] = display
    return env


def fmt(value, digits: int = 3) -> str:
    """A number for a table (``display.number``): never scientific notation, '-' if missing.

    >>> fmt(0.123456), fmt(None), fmt(12345.6), fmt(float("nan")), fmt(1.62e-07)
    ('0.123', '-', '12,346', '-', '< 0.0001')
    """
    return display.number(value, digits)


def _facts(run, perf, fair, data, catalogue) -> dict:
    """Run-specific facts quoted in ALGO-CARE and ATRS."""
    model = perf["metrics"].get("systems", {}).get("model", {})
    auc = model.get("roc_auc")
    k = run.manifest.get("k", 100)
    rec = model.get(f"recall@{k}") or model.get(f"recall_at_{k}")
    parts = [f"{display.metric_name('roc_auc')}: {fmt(auc['value'])} "
           f"{display.interval(auc.get('lo'), auc.get('hi'))}" if auc else None,
           f"{display.metric_name(f'recall@{k}').lower()}: {display.percent(rec['value'])} "
           f"{display.interval(rec.get('lo'), rec.get('hi'), display.percent)}"
           if rec else None]
    acc = [a for a in parts if a]
    present = [r["table"] for r in data["sources"] if r["present"]]
    absent = ([r["table"] for r in data["sources"] if not r["present"]]
              if data["data_dir_found"] else list(run.manifest.get("absent_sources") or []))
    er = fair["equal_risk_flags"]
    features = run.manifest.get("features") or []
    if run.features is not None and not features:
        features = [c for c in run.features.columns if c not in ("person_id", "as_of")]
    age_inputs = [f for f in features if re.search(r"(^|_)(age|birth)(_|$)", f)]
    scored = len(run.scores) if run.scores is not None else \
        (perf["metrics"].get("population") or 0)
    in_cohort = sections.cohort_size(run)
    return {
        "features": features, "n_scored": scored, "cohort_size": in_cohort,
        "share_text": display.share_text(k, scored),
        "cohort_text": display.share_text(in_cohort if in_cohort else k, scored),
        "age_sentence": texts.age_sentence(age_inputs),
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


def build(run_dir, previous=None, n_boot: int = N_BOOT, seed: int = 0,
          governance=None, n_persons: int = persons.N_PERSONS, tracking_uri: str | None = None,
          work=None, decision_audit: dict | None = None) -> dict:
    """Everything the pack shows, as a dict (also used by tests). ``decision_audit`` is the
    review app's audit of the team's decisions, given as data (``riskcohort.workflow.report``
    computes it with the app's own function, so the pack and the governance page agree);
    None: the section says how to include it."""
    run = open_run(run_dir)
    frame = sections.audit_frame(run)
    fair = sections.fairness_section(frame, n_boot, seed, k=int(run.manifest.get("k", 100)))
    perf = sections.performance_section(run)
    data = {"sources": source_summary(run.data_dir), "validation": run.validation,
            "quarantine_text": _quarantine_text(run.validation),
            "data_dir_found": bool(run.data_dir and run.data_dir.is_dir())}
    catalogue = sections.catalogue_section(run)
    facts = _facts(run, perf, fair, data, catalogue)
    gov_path = legal.find(run.root, governance, work)
    legal_sections = legal.sections(legal.load(gov_path), facts)
    return {
        "status": status.status(run, tracking_uri, work),
        "legal": legal_sections, "legal_unfilled": legal.unfilled(legal_sections),
        "legal_source": gov_path.name if gov_path else None, "to_complete": legal.TO_COMPLETE,
        "persons": persons.section(run.root, run.scores, n_persons, seed),
        "run": run, "manifest": run.manifest, "facts": facts, "fair": fair, "perf": perf,
        "data": data, "catalogue": catalogue, "frame_size": len(frame),
        "stability": sections.stability_section(run),
        "drift": sections.drift_section(run, previous_run_dir(run, previous, work)
                                        or status.previous_from_registry(run, tracking_uri,
                                                                         work)),
        "explain_plots": sections.explain_plots(run),
        "model_details": sections.model_details(run.manifest),
        "validation_rows": sections.validation_rows(run.validation),
        "algo_care": texts.algo_care(facts), "texts": texts, "thresholds": fairness,
        "er": equal_risk,
        "ablation": ablation.section(run, n_boot=min(n_boot, ablation.N_BOOT), seed=seed),
        "interventions": interventions.section(run),
        "decision_audit": decision_audit,
        "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
    }


def report(run_dir: str | Path, out: str | Path | None = None, pdf: bool = False,
           previous: str | Path | None = None, n_boot: int = N_BOOT, seed: int = 0,
           governance: str | Path | None = None, n_persons: int = persons.N_PERSONS,
           tracking_uri: str | None = None, work: str | Path | None = None,
           decision_audit: dict | None = None, impact: str | Path | None = None) -> Path:
    """Write the governance pack for ``run_dir``; return the HTML path.

    Also writes ``<out stem>.atrs.md`` beside the HTML, ``<out stem>.pseudonyms.csv`` (the key
    from the per-person section's pseudonyms to person ids: keep it where person data is kept;
    it is never inside the pack), ``fairness.json`` in the run folder and, with ``pdf=True``,
    ``<out stem>.pdf`` (needs WeasyPrint). ``governance`` is the force's governance.toml
    (default: looked up beside the run, then in the work folder). ``impact``: an estimate
    written by ``riskcohort impact --out``, attached to the run as impact.json first.
    """
    if impact is not None:
        interventions.attach_impact(run_dir, impact)
    ctx = build(run_dir, previous=previous, n_boot=n_boot, seed=seed, governance=governance,
                n_persons=n_persons, tracking_uri=tracking_uri, work=work,
                decision_audit=decision_audit)
    run = ctx["run"]
    out = Path(out) if out else run.root / "report.html"
    env = _env()
    atrs = env.get_template("atrs.md").render(**ctx)
    html = env.get_template("report.html").render(atrs=atrs, atrs_html=markdown_html(atrs),
                                                  **ctx)
    derived(run, out, lambda p: write_text(p, html))
    derived(run, out.with_suffix(".atrs.md"), lambda p: write_text(p, atrs))
    key = ctx["persons"].get("key")
    if key is not None:
        derived(run, out.with_suffix(".pseudonyms.csv"), lambda p: key.to_csv(p, index=False))
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


def markdown_html(text: str) -> markupsafe.Markup:
    """The ATRS markdown as HTML (headings, bullet lists, **bold**, `code`): the record is
    written by our own template, so this small subset is all it uses; everything is escaped.

    >>> str(markdown_html("## Tier 1\\n- **Name**: x & y"))
    '<h4>Tier 1</h4>\\n<ul>\\n<li><b>Name</b>: x &amp; y</li>\\n</ul>'
    """
    out, in_list = [], False

    def inline(s: str) -> str:
        s = str(markupsafe.escape(s))
        s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    for line in text.splitlines():
        item = line.startswith("- ")
        if in_list and not item:
            out.append("</ul>")
            in_list = False
        if item:
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{inline(line[2:])}</li>")
        elif m := re.match(r"(#{1,4}) (.*)", line):
            level = min(len(m.group(1)) + 2, 5)  # "#" is h3: the record sits in a section
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    if in_list:
        out.append("</ul>")
    return markupsafe.Markup("\n".join(out))


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
