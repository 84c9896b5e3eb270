"""CLI of the app stage: ``serve``, ``users add|list|disable`` and ``audit verify``.

Every command takes ``--db`` (a SQLAlchemy URL or a SQLite file path; default: the
``RISKCOHORT_DB`` environment variable, and for ``serve`` ``<run folder's parent>/app.db``) and
migrates the schema before use, so the CLI and the server always agree on it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from riskcohort.errors import UserError

DB_HELP = ("Database: sqlite:///path.db, postgresql+psycopg://user@host:port/db, or a file path "
           "(SQLite). Default: $RISKCOHORT_DB.")


def _db(db: str | None) -> str:
    db = db or os.environ.get("RISKCOHORT_DB")
    if not db:
        raise UserError("--db: rule required (or set RISKCOHORT_DB), e.g. --db sqlite:///work/app.db")
    return db


def find_run_folder(work: Path, mlflow_run_id: str, depth: int = 3) -> Path | None:
    """The run folder under ``work`` whose run.json records ``mlflow_run_id`` (newest wins)."""
    import json

    found = []
    for level in range(1, depth + 1):
        for manifest in work.glob("/".join(["*"] * level) + "/run.json"):
            try:
                if json.loads(manifest.read_text(encoding="utf-8")).get(
                        "mlflow_run_id") == mlflow_run_id:
                    found.append(manifest.parent)
            except (OSError, ValueError):
                continue
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def resolve_model(alias: str, work: Path, tracking_uri: str | None = None) -> Path:
    """Run folder of a registered model alias (e.g. champion).

    Uses ``riskcohort.tracking.resolve_run_dir`` when the tracking stage offers it; otherwise
    asks the registry which MLflow run the alias points at and finds the run folder under
    ``work`` whose run.json carries that ``mlflow_run_id`` (written by ``log_iteration``).
    """
    from riskcohort import tracking

    fn = getattr(tracking, "resolve_run_dir", None)
    if fn is not None:
        return Path(fn(alias))
    from riskcohort.tracking import registry, store

    version = registry.resolve_version(store.client(tracking_uri, work), alias)
    folder = find_run_folder(Path(work), version.run_id)
    if folder is None:
        raise UserError(f"--model {alias}: registered version {version.version} comes from MLflow "
                        f"run {version.run_id}, but no run folder under {work} has that "
                        "mlflow_run_id in its run.json; pass the folder with --run OUT_DIR")
    return folder


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    users_app = typer.Typer(help="Manage the review app's user accounts.", no_args_is_help=True)
    audit_app = typer.Typer(help="The review app's audit trail.", no_args_is_help=True)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")

    @app.command()
    def serve(
        run: list[Path] = typer.Option(None, "--run", help="Run folder, or a folder of run "
                                       "folders (one per iteration); repeatable."),
        model: str = typer.Option(None, "--model", help="Registered alias, e.g. champion."),
        host: str = typer.Option("127.0.0.1", help="Listen address (loopback by default)."),
        port: int = typer.Option(8000, help="Listen port."),
        db: str = typer.Option(None, "--db", help=DB_HELP + " Serve default: <run parent>/app.db"),
        work: Path = typer.Option(Path("work"), "--work", help="Work folder searched for the "
                                  "run folder of --model (and its default tracking store)."),
        tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow tracking URI for "
                                         "--model (default: the tracking stage's)."),
        secure_cookies: bool = typer.Option(False, help="Mark cookies Secure (behind HTTPS)."),
        workers: int = typer.Option(1, min=1, max=16, help="Worker processes (each loads the "
                                    "run data; sessions and audit are shared via the database)."),
    ) -> None:
        """Serve the DAPST review app (cohort, person pages, decisions, governance, audit)."""
        import uvicorn

        from riskcohort.app.db import open_db
        from riskcohort.app.rundata import load_runs
        from riskcohort.app.users import list_users
        from riskcohort.app.web import Settings, create_app

        if bool(run) == bool(model):
            raise UserError("give exactly one of --run OUT_DIR or --model ALIAS")
        paths = list(run) if run else [resolve_model(model, work, tracking_uri)]
        runs = load_runs(paths)
        db = db or os.environ.get("RISKCOHORT_DB") or f"sqlite:///{paths[0].resolve().parent}/app.db"
        engine = open_db(db)
        typer.echo(f"iterations: {', '.join(i.name for i in runs.iterations)}; "
                   f"current: {runs.current.name} ({len(runs.current.scores)} scored)")
        typer.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
        if not list_users(engine):
            typer.echo(f"no users yet: riskcohort users add NAME --role admin --db {db}")
        if workers > 1:
            from riskcohort.app.server import config_env

            os.environ.update(config_env([str(p) for p in paths], db,
                                         {"secure_cookies": secure_cookies}))
            engine.dispose()
            uvicorn.run("riskcohort.app.server:build", factory=True, workers=workers, host=host,
                        port=port, log_level="info", access_log=False)
            return
        application = create_app(runs, engine, Settings(secure_cookies=secure_cookies))
        uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)

    @users_app.command("add")
    def users_add(
        name: str = typer.Argument(..., help="Login name."),
        role: str = typer.Option(..., "--role", help="dapst | analyst | governance | admin"),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input."),
        db: str = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Add a user (password prompted twice, or read from stdin)."""
        from riskcohort.app.db import open_db
        from riskcohort.app.users import add_user

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        add_user(open_db(_db(db)), name, role, password, actor="cli")
        typer.echo(f"added {name} ({role})")

    @users_app.command("list")
    def users_list(db: str = typer.Option(None, "--db", help=DB_HELP)) -> None:
        """List users with role and status."""
        from riskcohort.app.db import open_db
        from riskcohort.app.users import list_users

        for u in list_users(open_db(_db(db))):
            typer.echo(f"{u['name']}\t{u['role']}\t{'active' if u['active'] else 'disabled'}")

    @users_app.command("disable")
    def users_disable(name: str = typer.Argument(...),
                      db: str = typer.Option(None, "--db", help=DB_HELP)) -> None:
        """Disable a user and end their sessions."""
        from riskcohort.app.db import open_db
        from riskcohort.app.users import disable_user

        disable_user(open_db(_db(db)), name, actor="cli")
        typer.echo(f"disabled {name}")

    @audit_app.command("verify")
    def audit_verify(db: str = typer.Option(None, "--db", help=DB_HELP)) -> None:
        """Check the audit hash chain; exit 1 naming the first bad row."""
        from riskcohort.app.audit import verify
        from riskcohort.app.db import open_db

        v = verify(open_db(_db(db)))
        if not v.ok:
            raise UserError(f"audit chain broken at row {v.bad_id}: {v.reason} "
                            f"({v.rows} rows verified before it)", exit_code=1)
        typer.echo(f"audit chain intact: {v.rows} rows")
