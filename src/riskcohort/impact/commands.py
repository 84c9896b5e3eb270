"""CLI: ``riskcohort impact DATA_DIR --from DATE --to DATE [--kind dapst_managed] --out FILE``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from riskcohort.errors import UserError


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"option {option}: rule date_format: {value!r} is not a date "
                        "YYYY-MM-DD") from None


def register(app: typer.Typer) -> None:
    """Add ``riskcohort impact`` to the main app."""

    @app.command("impact")
    def impact(
        data_dir: Path = typer.Argument(..., help="Dataset folder (contract v1.1, with an "
                                        "interventions table)."),
        date_from: str = typer.Option(..., "--from", help="First management start date "
                                      "included (YYYY-MM-DD)."),
        date_to: str = typer.Option(..., "--to", help="Last management start date included "
                                    "(YYYY-MM-DD)."),
        kind: str = typer.Option("dapst_managed", "--kind", help="Intervention kind."),
        out: Path = typer.Option(..., "--out", help="JSON file to write the estimate to."),
        seed: int = typer.Option(0, "--seed", help="Seed of the model folds and the "
                                 "bootstrap."),
        selection: str = typer.Option("auto", "--selection", help="Ranking the team cut: auto "
                                      "(per month, the one that reproduces that month's "
                                      "picks best) | incumbent | "
                                      "iteration_2 | matac_rfgv | v100_harm | dash_dara | "
                                      "learned."),
        months: str = typer.Option(
            "sharp", "--months",
            help="sharp: only months whose picks the ranking reproduces (>= 80%), when they "
                 "hold at least 200 managed people, else all months with a warning | all: "
                 "every month."),
        recalibrate: bool = typer.Option(
            None, "--recalibrate/--no-recalibrate", show_default=False,
            help="Re-fit the expected harm along the selection ranking near the cut "
                 "(default: on for sharp months, off when all months are used; see "
                 "docs/impact.md)."),
    ) -> None:
        """Estimate an intervention's effect on serious harm (observational relative risk).

        Serious harm in a fixed window from each start: managed vs unmanaged just below the cut.
        """
        from riskcohort.impact.estimate import estimate_impact
        from riskcohort.io import write_json

        if out.suffix.lower() != ".json":
            raise UserError(f"option --out: rule json_file: {out} must end in .json")
        from riskcohort.impact.selection import LEARNED, NAMED

        if selection not in ("auto", LEARNED, *NAMED):
            raise UserError(f"option --selection: rule selection_rule: {selection!r} is not one "
                            f"of auto, {', '.join(NAMED)}, {LEARNED}")
        if months not in ("sharp", "all"):
            raise UserError(f"option --months: rule months_mode: {months!r} is not one of "
                            "sharp, all")
        result = estimate_impact(data_dir, _date(date_from, "--from"), _date(date_to, "--to"),
                                 kind=kind, seed=seed, rule=selection, months=months,
                                 **({} if recalibrate is None else {"recalibrate": recalibrate}))
        write_json(out, result)

        def f(x):
            return "n/a" if x is None else f"{x:.2f}"

        typer.echo(f"{kind}: relative risk of serious harm {f(result['relative_risk'])} (95% "
                   f"interval {f(result['lo'])}-{f(result['hi'])}); {result['n_managed']} "
                   f"managed vs {result['n_comparison']} comparable unmanaged people; "
                   f"observational - see assumptions in {out}")
        fake = result["checks"]["fake_cutoff"]
        used = result["months_used"]
        typer.echo(f"months: {used['used']} ({len(used['kept'])} of "
                   f"{len(result['months'])} kept); ranking cut: "
                   f"{result['selection']['score']}; falsification (fake cut-off among unpicked "
                   f"people): {f(fake['relative_risk'])} ({f(fake['lo'])}-{f(fake['hi'])})")
        every = result["checks"]["all_months"]
        if used["used"] != "all":
            typer.echo(f"all months: {f(every['relative_risk'])} ({f(every['lo'])}-"
                       f"{f(every['hi'])}), {every['n_managed']} managed")
        for w in result["warnings"][1:]:
            typer.echo(f"warning: {w}")
