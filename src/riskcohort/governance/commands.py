"""CLI commands of the governance stage (registered on the main app by riskcohort.cli)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``riskcohort report``."""

    @app.command("report")
    def report_command(
        run_dir: Path = typer.Argument(None, help="A run folder written by `riskcohort run`."),
        out: Path | None = typer.Option(None, "--out", help="HTML file (default RUN_DIR/report.html)."),
        pdf: bool = typer.Option(False, "--pdf", help="Also write a PDF beside the HTML (WeasyPrint)."),
        previous: Path | None = typer.Option(
            None, "--previous", help="Run folder of the previous iteration, for drift (PSI)."),
        governance: Path | None = typer.Option(
            None, "--governance", help="The force's governance.toml (default: beside the run, then in the work folder)."),
        persons: int = typer.Option(20, "--persons", min=0, help="Individual cases shown: the cohort's top N and N at random outside it."),
        n_boot: int = typer.Option(500, "--n-boot", min=20, help="Bootstrap resamples for intervals."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and of the random sample of cases."),
        tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store to read the model's registry status from."),
        work: Path | None = typer.Option(None, "--work", help="Work folder (its mlflow.db and governance.toml; default $RISKCOHORT_WORK)."),
        db: str | None = typer.Option(None, "--db", help="The review app's database: adds the decision audit (the team's decisions by group, overrides)."),
        data: Path | None = typer.Option(None, "--data", help="Data folder with the persons table for the decision audit (default: the run's)."),
        impact: Path | None = typer.Option(None, "--impact", help="An estimate written by `riskcohort impact --out`: attached to the run as impact.json and shown in the interventions section."),
        governance_template: Path | None = typer.Option(
            None, "--governance-template", help="Write the governance.toml template to this file and stop."),
    ) -> None:
        """Write the governance pack as one self-contained HTML file (and a printable PDF).

        Model card, data, performance, individual cases, fairness audit, bias check, the team's decision audit (with --db), drift, legal basis, ALGO-CARE, an ATRS record and the sign-off."""
        from riskcohort.errors import UserError

        if governance_template is not None:
            from riskcohort.governance.legal import template_text
            from riskcohort.io import write_text

            if governance_template.exists():
                raise UserError(f"--governance-template {governance_template}: file exists; "
                                "rule: never overwrite the force's answers")
            write_text(governance_template, template_text())
            typer.echo(f"governance template: {governance_template}")
            return
        if run_dir is None:
            raise UserError("riskcohort report: a RUN_DIR is required (the OUT_DIR of "
                            "`riskcohort run`)")
        from riskcohort.workflow.report import governance_report

        path = governance_report(run_dir, db=db, data=data, out=out, pdf=pdf, previous=previous,
                                 n_boot=n_boot, seed=seed, governance=governance,
                                 n_persons=persons, tracking_uri=tracking_uri, work=work,
                                 impact=impact)
        typer.echo(f"governance pack: {path}")
        typer.echo(f"transparency record: {path.with_suffix('.atrs.md')}")
        typer.echo(f"pseudonym key (keep with the person data): {path.with_suffix('.pseudonyms.csv')}")
        if pdf:
            typer.echo(f"pdf: {path.with_suffix('.pdf')}")
