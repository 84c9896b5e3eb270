"""Rich console table: the model against every baseline, with 95% bootstrap intervals.

Why on the console: whoever runs an iteration should see at once whether it beats what the force
does today, with the uncertainty, before opening any report. The same numbers are in
``metrics.json``.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

LABELS = {
    "model": "model (calibrated)",
    "dash_dara": "DASH/DARA high, 12m",
    "matac_rfgv": "MATAC RFG-V",
    "v100_harm": "V100 harm 365d",
    "iteration_2": "iteration 2 (DA count)",
    "incumbent": "incumbent",
    "oracle": "oracle (truth)",
}


def _cell(m: dict, key: str, pct: bool = False, digits: int = 3) -> str:
    if key not in m:
        return "-"
    v = m[key]
    f = (lambda x: f"{100 * x:.1f}") if pct else (lambda x: f"{x:.{digits}f}")
    return f"{f(v['value'])} [{f(v['lo'])}, {f(v['hi'])}]"


def metrics_table(metrics: dict, k: int = 100) -> Table:
    """One row per score: AUC, PR AUC, recall/precision/harm at k, homicides at k, ECE."""
    inc = metrics.get("incumbent", {})
    title = (f"as-of {metrics.get('as_of', '')}: n={metrics['n']}, positives={metrics['positives']}"
             f", homicides={metrics['homicides']}, bootstrap n={metrics['n_boot']}")
    t = Table(title=title)
    for col in ("score", "ROC AUC", "PR AUC", f"recall@{k} %", f"precision@{k} %",
                f"harm@{k} %", f"homicides@{k}", "ECE", "slope"):
        t.add_column(col, overflow="fold")
    for name, m in metrics["scores"].items():
        label = LABELS.get(name, name)
        if name == "incumbent" and inc.get("system"):
            label = f"incumbent {inc['system']} (coverage {100 * inc['coverage']:.0f}%)"
        t.add_row(label, _cell(m, "roc_auc"), _cell(m, "pr_auc"), _cell(m, f"recall@{k}", True),
                  _cell(m, f"precision@{k}", True), _cell(m, f"harm@{k}", True),
                  _cell(m, f"homicides@{k}", digits=1), _cell(m, "ece", digits=4),
                  _cell(m, "calibration_slope", digits=2))
    for name, d in metrics.get("differences", {}).items():
        t.add_row(f"[dim]model - {LABELS.get(name, name)}[/]", _cell(d, "roc_auc"),
                  _cell(d, "pr_auc"), _cell(d, f"recall@{k}", True),
                  _cell(d, f"precision@{k}", True), _cell(d, f"harm@{k}", True),
                  _cell(d, f"homicides@{k}", digits=1), "", "")
    return t


def print_run(result, console: Console | None = None) -> None:
    """Summary of one iteration on the console."""
    console = console or Console(width=None if Console().is_terminal else 180)
    m = result.metrics
    console.print(f"[bold]{result.manifest['experiment']}[/] as-of {result.as_of} -> "
                  f"{result.out_dir}")
    if not m.get("backtest"):
        n_cohort = int(result.scores["in_cohort"].sum())
        console.print(f"scored {len(result.scores)} people; cohort of {n_cohort}; no outcomes "
                      "after the as-of date in the data, so no backtest metrics")
        return
    console.print(metrics_table({**m, "as_of": str(result.as_of)}, result.manifest["k"]))
    for c in m.get("cautions", []):
        console.print(f"[yellow]caution:[/] {c}")
    if "share_of_oracle" in m:
        s = m["share_of_oracle"]
        k = result.manifest["k"]
        console.print(f"share of oracle: recall@{k} {s.get(f'recall@{k}', float('nan')):.2f}, "
                      f"harm@{k} {s.get(f'harm@{k}', float('nan')):.2f}")
    if "targets" in m:
        console.print(f"targets: {m['targets']}")


def stability_table(results, pooled: dict | None = None, k: int = 100) -> Table:
    """How stable the model's advantage is over backtest dates: one row per as-of date.

    For each date, the model against the best rule *of that date* (by recall@k, and by AUC), with
    the paired bootstrap intervals of the differences, then the pooled line over all dates.
    """
    t = Table(title=f"Stability of the advantage over {len(results)} backtest date(s)")
    for col in ("as-of", "n / positives", f"model recall@{k} %", f"best rule recall@{k} %",
                "model - rule (paired) %", "model AUC", "AUC margin vs best rule (paired)",
                "ECE", "slope"):
        t.add_column(col, overflow="fold")
    for res in results:
        m = res.metrics
        if not m.get("backtest"):
            t.add_row(str(res.as_of), "no outcome window", *[""] * 7)
            continue
        tg, sc, diff = m.get("targets", {}), m["scores"], m.get("differences", {})
        rule, rule_auc = tg.get("best_rule_recall"), tg.get("best_rule_auc")
        t.add_row(
            str(res.as_of), f"{m['n']} / {m['positives']}",
            _cell(sc["model"], f"recall@{k}", True),
            f"{LABELS.get(rule, rule)}: {_cell(sc.get(rule, {}), f'recall@{k}', True)}",
            _cell(diff.get(rule, {}), f"recall@{k}", True),
            _cell(sc["model"], "roc_auc"),
            f"{LABELS.get(rule_auc, rule_auc)}: {_cell(diff.get(rule_auc, {}), 'roc_auc')}",
            _cell(sc["model"], "ece", digits=4), _cell(sc["model"], "calibration_slope", digits=2),
        )
    if pooled:
        diffs = pooled.get("differences", {})
        rules = [n for n in diffs if n not in ("incumbent", "oracle")]
        if rules:  # the rule the model beats by the least, pooled over dates
            worst = min(rules, key=lambda n: diffs[n][f"recall@{k}"]["value"])
            t.add_row(f"pooled ({pooled['dates']} dates)", f"{pooled['positives']} positives",
                      _cell(pooled["scores"]["model"], f"recall@{k}", True),
                      f"{LABELS.get(worst, worst)}: "
                      f"{_cell(pooled['scores'][worst], f'recall@{k}', True)}",
                      _cell(diffs[worst], f"recall@{k}", True), "", "", "", "", style="bold")
    return t
