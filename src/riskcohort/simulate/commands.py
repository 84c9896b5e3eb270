"""CLI of the simulate stage: ``riskcohort simulate`` (write a synthetic force, or ``--check`` one).

Heavy imports live inside the command so ``riskcohort --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def simulate(
    out: Path = typer.Option(None, "--out", help="Folder to write the dataset to."),
    preset: str = typer.Option("small", help="tiny | small | demo | force | national"),
    scenario: str = typer.Option("default", "--scenario", help="Mechanism assumptions: "
                                 "default | dash-informative | dash-noise | weak-separation "
                                 "| self-exciting | latent-trait | biased (see "
                                 "docs/synthetic-force.md)."),
    seed: int = typer.Option(0, help="Random seed (same seed -> identical files)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet | csv"),
    clean: bool = typer.Option(False, "--clean", help="Inject no data-quality defects."),
    bias_group: str = typer.Option(None, help="Ethnicity whose non-serious incidents are "
                                   "recorded more often (measurement bias; overrides the "
                                   "scenario's)."),
    bias_rate: float = typer.Option(None, help="Share of unrecorded non-serious incidents of "
                                    "the bias group recorded anyway (default 0.3)."),
    managed: int = typer.Option(0, "--managed", help="A team manages its top K people (by "
                                "ILAS points) each quarter for 6 months (0 = no team)."),
    intervention_effect: float = typer.Option(0.0, "--intervention-effect", help="Share of "
                                              "serious-harm hazard removed while managed "
                                              "(0 = placebo team)."),
    intervention_tail: float = typer.Option(0.0, "--intervention-tail", help="Months over "
                                            "which the effect decays after management ends "
                                            "(0 = stops at the end)."),
    check: Path = typer.Option(None, "--check", help="Measure DATA_DIR against the "
                               "stylized facts instead of writing (exit 1 if any fails)."),
) -> None:
    """Write a synthetic police force (contract tables, ILAS baseline, _truth/) or check one."""
    from rich.console import Console

    from riskcohort.errors import UserError

    console = Console()
    if check is not None:
        _check_facts(check, console)
        return
    if out is None:
        raise UserError("option --out: rule required: give --out DATA_DIR (or --check)")
    from riskcohort.simulate import simulate as run

    s = run(out, preset=preset, seed=seed, fmt=fmt, clean=clean, bias_group=bias_group,
            bias_rate=bias_rate, scenario=scenario, managed=managed,
            intervention_effect=intervention_effect, intervention_tail=intervention_tail)
    console.print(_summary_line(out, s), highlight=False)


def _check_facts(check: Path, console) -> None:
    """``--check``: the stylized-facts table; any fact outside its target is exit 1."""
    from riskcohort.errors import UserError
    from riskcohort.simulate.facts import check as run_check
    from riskcohort.simulate.facts import render

    table = run_check(check)
    console.print(render(table))
    if not table["pass"].all():
        raise UserError(f"folder {check}: rule stylized_facts: "
                        f"{int((~table['pass']).sum())} fact(s) outside target",
                        exit_code=1)


def _summary_line(out: Path, s: dict) -> str:
    """One line saying what was written: rows per table, baseline, truth and defects."""
    rows = ", ".join(f"{k}={v:,}" for k, v in s["rows"].items())
    n_def = sum(sum(d.values()) for d in s["defects"].values())
    return (f"wrote {out} ({s['preset']}, scenario {s['scenario']}, seed {s['seed']}, "
            f"{s['format']}) in "
            f"{s['seconds']} s: {rows}; baseline {s['baseline_rows']:,}; "
            f"truth {s['truth_rows']:,}; defects {n_def}")

#: The stage's commands in the order ``--help`` lists them (each named after its function).
COMMANDS = (simulate,)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the main app. The commands are module-level functions so each
    can be read alone; Typer names each after its function."""
    for command in COMMANDS:
        app.command()(command)
