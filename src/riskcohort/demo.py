"""``riskcohort demo``: the whole main job on a synthetic force, end to end, offline.

The story it tells is the one a force lives: a first cohort iteration is trained on the force as
police knew it six months ago (backtested, tracked, registered as champion); six more months of
records arrive; a challenger is retrained on them and promoted only if the evidence says so; the
cohort change is shown; the governance pack is written. Every step is a public function of a
stage, so the demo is also the integration test of the stages' interfaces.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = {"small": "iteration-3-small.toml", "demo": "iteration-3-demo.toml",
               "force": "iteration-3.toml"}
#: The preset ``make demo`` runs: the smallest force on which the model is not degenerate (the
#: top 100 has distinct scores and the backtest AUC interval clears the best rule's); ``small``
#: stays for quick looks and tests, its metrics illustrative only.
DEFAULT_PRESET = "demo"
HORIZON_DAYS = 365  # the reference experiments' outcome horizon


@dataclass
class DemoResult:
    """Where the demo put things, and the headline numbers it printed."""

    work: Path
    data: Path
    earlier: Path
    first_run: Path
    retrain_run: Path
    report: Path
    promoted: bool
    timings: dict = field(default_factory=dict)


def experiment_file(preset: str) -> Path:
    """The reference experiment config for a preset (shipped in the repo's experiments/)."""
    path = ROOT / "experiments" / EXPERIMENTS.get(preset, "iteration-3.toml")
    if not path.exists():
        from riskcohort.errors import UserError

        raise UserError(f"experiment config {path} not found (run the demo from a repo checkout)")
    return path


def latest_record(data_dir: Path) -> dt.date:
    """The day of the latest ``recorded_at`` in the incidents table (the dataset's end)."""
    import pandas as pd

    path = next(p for p in (data_dir / "incidents.parquet", data_dir / "incidents.csv")
                if p.exists())
    frame = (pd.read_parquet(path, columns=["recorded_at"]) if path.suffix == ".parquet"
             else pd.read_csv(path, usecols=["recorded_at"]))
    return pd.to_datetime(frame["recorded_at"], errors="coerce", format="mixed").max().date()


def months_before(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` before ``day``'s month.

    >>> months_before(dt.date(2026, 9, 30), 6)
    datetime.date(2026, 3, 1)
    """
    m = day.year * 12 + day.month - 1 - months
    return dt.date(m // 12, m % 12 + 1, 1)


class _Steps:
    """The demo's console: a heading per step and the seconds each step took (the figures
    the README quotes)."""

    def __init__(self, console) -> None:
        self.console = console
        self.starts: list[tuple[str, float]] = []

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)

    def step(self, name: str) -> None:
        self.starts.append((name.split(":")[0], time.perf_counter()))
        self.log(f"[bold cyan]==>[/] {name}")

    def timings(self) -> dict[str, float]:
        ends = [t for _, t in self.starts[1:]] + [time.perf_counter()]
        return {name: round(end - start, 1)
                for (name, start), end in zip(self.starts, ends, strict=True)}


def _data(s: _Steps, work: Path, preset: str, seed: int, fresh: bool,
          new_months: int) -> tuple[Path, Path]:
    """Simulate the force once (kept between demo runs unless ``fresh``) and cut a copy as
    known ``new_months`` earlier, for iteration 1; returns (all data, earlier data)."""
    from riskcohort import simulate
    from riskcohort.contract.cutoff import cut_dataset

    s.step("simulate")
    data = work / "data" / f"{preset}-seed{seed}"
    if fresh or not (data / "persons.parquet").exists():
        simulate.simulate(data, preset=preset, seed=seed)
    end = latest_record(data)
    cutoff = months_before(end, new_months)
    earlier = cut_dataset(data, work / "data" / f"{preset}-seed{seed}-until-{cutoff}", cutoff)
    s.log(f"synthetic force in {data} (records to {end}); as known before {cutoff}: {earlier}")
    return data, earlier


def _iteration_one(s: _Steps, work: Path, experiment: Path, earlier: Path, uri: str) -> Path:
    """Iteration 1 on the earlier data, at the latest as-of whose whole outcome window lies in
    it; the first model becomes champion (nothing to compare it with). Returns its folder."""
    from riskcohort import workflow
    from riskcohort.modelling.report import print_run
    from riskcohort.runfolder import layout
    from riskcohort.tracking import registry

    s.step("iteration 1: validate, train, backtest, explain, track")
    first_as_of = latest_record(earlier) - dt.timedelta(days=HORIZON_DAYS)
    runs = work / "runs"
    if (runs / "iteration-1").exists():  # a re-run: earlier runs (one is champion) are kept
        runs = runs / dt.datetime.now(dt.UTC).strftime("demo-%Y%m%dT%H%M%S")
    first = runs / "iteration-1"
    result1, _ = workflow.run_and_track(experiment, data_dir=earlier, as_of=first_as_of,
                                        out_dir=first, tracking_uri=uri, work=work)
    print_validation(first / layout.VALIDATION_DIR, s.console)
    print_run(result1, s.console)
    for line in describe_checks(model_checks(first)):
        s.log(f"  {line}")
    champion = registry.current_version(registry_client(uri), registry.CHAMPION)
    s.log(f"registered model da-threat-to-life: version {champion.version} is champion "
          "(the first model has nothing to be compared with)")
    return first


def _retrain(s: _Steps, work: Path, experiment: Path, data: Path, second: Path, uri: str,
             new_months: int):
    """Iteration 2 on all the data through ``retrain``; demo only: it approves on the evidence
    and records "auto-approved" (a force uses ``approve``)."""
    from riskcohort import workflow
    from riskcohort.tracking.promotion import markdown

    s.step(f"retrain with {new_months} more months of records")
    result = workflow.retrain(experiment, data, out_dir=second, tracking_uri=uri, work=work,
                              auto_approve=True)
    s.console.print(markdown(result.decision, False), markup=False)
    for line in describe_checks(model_checks(second)):
        s.log(f"  iteration 2: {line}")
    return result


def _governance(s: _Steps, first: Path, second: Path, promoted: bool) -> Path:
    """Iteration 2's pack is what a board reads to approve it; when it was not promoted, the
    champion still in use (iteration 1) gets its own pack, and that is the one announced."""
    from riskcohort import governance

    s.step("governance pack")
    report = governance.report(second, previous=first)
    s.log(f"governance report (iteration 2, the challenger): {report}")
    if not promoted:
        report = governance.report(first)
        s.log(f"governance report (iteration 1, the champion in use): {report}")
    return report


def run_demo(work: Path, preset: str = DEFAULT_PRESET, seed: int = 7, fresh: bool = False,
             new_months: int = 6, console=None) -> DemoResult:
    """Simulate, run iteration 1 (champion), retrain on more months, diff, write the report."""
    from rich.console import Console

    from riskcohort.tracking.compare import cohort_diff
    from riskcohort.tracking.render import print_diff
    from riskcohort.tracking.store import default_tracking_uri

    s = _Steps(console or Console())
    work = Path(work).resolve()
    uri = default_tracking_uri(work)
    data, earlier = _data(s, work, preset, seed, fresh, new_months)
    experiment = experiment_file(preset)
    first = _iteration_one(s, work, experiment, earlier, uri)
    second = first.parent / "iteration-2"
    result = _retrain(s, work, experiment, data, second, uri, new_months)
    s.step("cohort change between iterations")
    print_diff(cohort_diff(str(first), str(second), uri, work), s.console, 10)
    report = _governance(s, first, second, result.promoted)
    return DemoResult(work, data, earlier, first, second, report, result.promoted, s.timings())


def model_checks(run_dir: Path, k: int = 100) -> dict:
    """Is the run's model a real one? The figures the demo prints and its tests check.

    ``distinct_top``: distinct scores among the top ``k`` (a degenerate model gives plateaus
    and ties decide the cohort); ``auc_vs_best_rule``: model minus the best rule's ROC AUC with
    its paired 95% interval (``excludes_zero`` when the model is better beyond the noise);
    ``auc_vs_incumbent``: the same against the incumbent tool (None when the incumbent had no
    score in the window before the as-of date).
    """
    from riskcohort import runfolder

    run = runfolder.open_run(run_dir)
    top = run.scores.nsmallest(k, "rank")
    out = {"k": k, "distinct_top": int(top["score"].nunique()), "auc_vs_best_rule": None,
           "best_rule": None, "auc_vs_incumbent": None,
           "incumbent": (run.metrics.incumbent or {}).get("system") if run.metrics else None}
    metrics = run.metrics
    if metrics is None or not metrics.backtest:
        return out
    best = (metrics.targets or {}).get("best_rule_auc")
    for key, name in (("auc_vs_best_rule", best), ("auc_vs_incumbent", "incumbent")):
        d = metrics.differences.get(name or "", {}).get("roc_auc")
        if d:
            out[key] = {**d, "excludes_zero": d["lo"] > 0 or d["hi"] < 0}
    out["best_rule"] = best
    return out


def describe_checks(checks: dict) -> list[str]:
    """Plain-English lines for :func:`model_checks` (what the demo prints)."""
    from riskcohort.display import system_name

    def diff(d: dict) -> str:
        verdict = "better beyond the noise" if d["excludes_zero"] and d["lo"] > 0 else (
            "worse" if d["excludes_zero"] else "not distinguishable from it")
        return f"{d['value']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]: {verdict}"

    lines = [f"top {checks['k']}: {checks['distinct_top']} distinct scores"]
    if checks["auc_vs_best_rule"]:
        lines.append(f"ROC AUC, model minus the best rule ({system_name(checks['best_rule'])}): "
                     + diff(checks["auc_vs_best_rule"]))
    if checks["auc_vs_incumbent"]:
        lines.append(f"ROC AUC, model minus the incumbent ({checks['incumbent'] or 'incumbent'})"
                     ": " + diff(checks["auc_vs_incumbent"]))
    elif checks["best_rule"]:
        lines.append("no incumbent comparison: the incumbent had no score in the window before "
                     "the as-of date")
    return lines


def print_validation(report_dir: Path, console) -> None:
    """The validation summary (rows read / accepted / quarantined per table and rule)."""
    from riskcohort.contract.commands import print_summary
    from riskcohort.contract.report import ValidationReport
    from riskcohort.runfolder import layout

    print_summary(ValidationReport.read(report_dir / Path(layout.VALIDATION_REPORT).name), console)


def registry_client(uri: str):
    """MLflow client on the demo's store (one place, so tests can reuse it)."""
    from riskcohort.tracking.store import client

    return client(uri)


def register(app: typer.Typer) -> None:
    """Add the demo command."""

    @app.command()
    def demo(
        work: Path = typer.Option(Path("work"), "--work", help="Work folder (data, runs, MLflow)."),
        preset: str = typer.Option(DEFAULT_PRESET, "--preset",
                                   help="demo (default, minutes) | small (quick, illustrative "
                                   "metrics) | force (Essex-sized, longer)."),
        seed: int = typer.Option(7, "--seed", help="Generator seed."),
        fresh: bool = typer.Option(False, "--fresh", help="Re-simulate even if the data exists."),
    ) -> None:
        """Run the whole job on a synthetic force, from simulation to the governance pack.

        Simulate, validate, train, explain, track, retrain, diff and write the pack."""
        from rich.console import Console

        console = Console()
        res = run_demo(work, preset=preset, seed=seed, fresh=fresh, console=console)
        console.print("\n[bold green]Demo finished.[/] What it produced:")
        for label, path in (("dataset (full)", res.data),
                            ("dataset (6 months earlier)", res.earlier),
                            ("iteration 1 run folder", res.first_run),
                            ("iteration 2 (retrain) run folder", res.retrain_run),
                            ("governance report (champion)", res.report),
                            ("MLflow store", res.work / "mlflow.db")):
            console.print(f"  {label:34s} {path}")
        run = res.retrain_run if res.promoted else res.first_run  # the champion's folder
        if res.promoted:
            console.print("\nThe retrained model (iteration 2) passed the promotion rule and "
                          "is now the champion (auto-approved: demo only; a force signs off "
                          "with riskcohort approve).", highlight=False)
        else:
            console.print("\nThe promotion rule kept the champion (iteration 1): the retrained "
                          "model (iteration 2) did not pass it (reasons above), so it is "
                          "recorded but not served. The governance report listed above is "
                          "the champion's; iteration 2's pack is beside its run folder for "
                          "the board.", highlight=False)
        console.print(f"Champion's run folder: {run}", highlight=False)
        console.print(f"Next: [bold]riskcohort serve --work {res.work}[/] (review app, serves "
                      f"the champion) · [bold]riskcohort ui --work {res.work}[/] (MLflow) · "
                      f"[bold]riskcohort explain PERSON_ID --run {run}[/]")
        console.print("Timings (s): " + ", ".join(f"{k} {v}" for k, v in res.timings.items()))
