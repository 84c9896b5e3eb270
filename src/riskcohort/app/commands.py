"""CLI of the app stage: ``serve``, ``users init|add|list|disable``, ``audit verify|head``.

Every command takes ``--db`` (a SQLAlchemy URL or a SQLite file path; default: the
``RISKCOHORT_DB`` environment variable, and for ``serve`` ``<run folder's parent>/app.db``) and
migrates the schema before use, so the CLI and the server always agree on it. The audit key
(``--audit-key FILE`` or ``$RISKCOHORT_AUDIT_KEY[_FILE]``) is created by ``users init`` or the
first start; see ``riskcohort.app.audit``.

``serve`` runs uvicorn with ``proxy_headers=False`` and no server banner: ``X-Forwarded-For`` is
trusted only from the address given with ``--trusted-proxy``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from riskcohort.errors import UserError

DB_HELP = ("Database: sqlite:///path.db, postgresql+psycopg://user@host:port/db, or a file path "
           "(SQLite). Default: $RISKCOHORT_DB.")
KEY_HELP = ("Audit key file (kept outside the database). Default: $RISKCOHORT_AUDIT_KEY (the "
            "secret) or $RISKCOHORT_AUDIT_KEY_FILE, else <database file>.audit-key for SQLite.")


def check_runs(runs) -> None:
    """Refuse run data the app cannot serve honestly (UserError naming file, column, rule).

    A header-only scores.csv would start an empty app that looks like "nobody is at risk"; a
    person id the app cannot put in a URL would be listed but impossible to open or decide on.
    """
    from riskcohort.app.views_person import PID_RULE

    cur = runs.current
    if len(cur.scores) == 0:
        raise UserError(f"{cur.root / 'scores.csv'}: no rows (only a header); rule: the current "
                        "iteration must score at least one person - nothing to review")
    for it in runs.iterations:
        bad = [str(p) for p in it.scores.index if not PID_RULE.match(str(p))]
        if bad:
            raise UserError(
                f"{it.root / 'scores.csv'}: column person_id: {len(bad)} ids break the review "
                "app's id rule (1-128 letters, digits or _ . : -), e.g. "
                f"{', '.join(repr(b[:40]) for b in bad[:3])}; such a person could not be opened "
                "or decided on - re-pseudonymise the ids")


def uvicorn_options(host: str, port: int, trusted_proxy: str | None) -> dict:
    """uvicorn settings: forwarded headers only from an explicit proxy; no server banner."""
    opts = {"host": host, "port": port, "log_level": "info", "access_log": False,
            "server_header": False, "proxy_headers": bool(trusted_proxy),
            # a worker loads the run data before it answers the supervisor's ping: on a busy
            # machine that takes longer than uvicorn's 5 s, which then kills it in a loop
            "timeout_worker_healthcheck": 120}
    if trusted_proxy:
        opts["forwarded_allow_ips"] = trusted_proxy
    return opts


def allowed_hosts(host: str, extra: list[str] | None) -> tuple[str, ...]:
    """Host header values the app answers to: loopback names, the bind address, --allowed-host."""
    from riskcohort.app.web import LOOPBACK_HOSTS

    names = [*LOOPBACK_HOSTS, *([] if host in ("0.0.0.0", "::") else [host]), *(extra or [])]
    return tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))


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

    try:
        c = store.client(tracking_uri, work, readonly=True)
        version = registry.resolve_version(c, alias)
    except UserError as exc:
        raise UserError(f"serving the registered {alias}: {exc}; or serve a run folder with "
                        "--run OUT_DIR") from None
    try:  # the folder the version was logged from (its riskcohort.run_dir tag), if still there
        tagged = c.get_run(version.run_id).data.tags.get("riskcohort.run_dir")
    except Exception:  # noqa: BLE001 - fall back to searching the work folder
        tagged = None
    from riskcohort.workflow.champion import served_run_dir

    # a verified folder of that run, else a copy rebuilt from the registry alone (issue 15.2)
    return served_run_dir(version, c.tracking_uri, work, candidates=[
        tagged, lambda: find_run_folder(Path(work), version.run_id)])


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    users_app = typer.Typer(help="Manage the review app's user accounts.", no_args_is_help=True)
    audit_app = typer.Typer(help="The review app's audit trail.", no_args_is_help=True)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    from riskcohort.app.casework_commands import register as register_casework

    register_casework(app)  # riskcohort interventions export

    @app.command()
    def serve(
        run: list[Path] = typer.Option(None, "--run", help="Run folder, or a folder of run "
                                       "folders (one per iteration); repeatable."),
        model: str = typer.Option(None, "--model", help="Registered alias or version; without "
                                  "--run or --model: the registry's champion."),
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
        trusted_proxy: str = typer.Option(None, "--trusted-proxy", help="Address of a reverse "
                                          "proxy whose X-Forwarded-For/-Proto is trusted (off by "
                                          "default: the socket's peer address is used)."),
        allowed_host: list[str] = typer.Option(None, "--allowed-host", help="Extra Host header "
                                               "name to answer to (repeatable); loopback names "
                                               "and the --host address always are."),
        audit_key: Path = typer.Option(None, "--audit-key", help=KEY_HELP),
        data: Path = typer.Option(None, "--data", help="Data folder the casework alerts are "
                                  "computed from (default: the current run's data folder); "
                                  "re-read when its files change."),
        timezone: str = typer.Option(None, "--timezone", help="Time zone the pages show times "
                                     "in (IANA name, e.g. Europe/London; default "
                                     "$RISKCOHORT_TIMEZONE, else the server's)."),
    ) -> None:
        """Serve the DAPST review app (cohort, person pages, decisions, governance, audit)."""
        import uvicorn

        from riskcohort.app.db import open_db
        from riskcohort.app.rundata import load_runs
        from riskcohort.app.users import list_users
        from riskcohort.app.web import Settings, create_app

        if run and model:
            raise UserError("give one of --run OUT_DIR or --model ALIAS, not both (without "
                            "either, the registry's champion is served)")
        paths = list(run) if run else [resolve_model(model or "champion", work, tracking_uri)]
        if not run:
            typer.echo(f"serving the registry's {model or 'champion'}: {paths[0]}")
        # the model page reads the registry's champion/challenger from the same store
        if tracking_uri:
            os.environ.setdefault("MLFLOW_TRACKING_URI", tracking_uri)
        elif (Path(work) / "mlflow.db").is_file():
            os.environ.setdefault("RISKCOHORT_WORK", str(Path(work).resolve()))
        if timezone:
            from riskcohort.app.timefmt import TZ_ENV, check_zone

            os.environ[TZ_ENV] = check_zone(timezone)  # inherited by --workers processes
        runs = load_runs(paths)
        check_runs(runs)
        if data is not None:
            from riskcohort.app.alerts import DATA_ENV

            if not data.is_dir():
                raise UserError(f"--data {data}: rule an existing data folder (the contract's "
                                "tables, e.g. incidents.parquet)")
            os.environ[DATA_ENV] = str(data.resolve())  # inherited by --workers processes
        db = db or os.environ.get("RISKCOHORT_DB") or f"sqlite:///{paths[0].resolve().parent}/app.db"
        engine = open_db(db, audit_key)
        typer.echo(f"iterations: {', '.join(i.name for i in runs.iterations)}; "
                   f"current: {runs.current.name} ({len(runs.current.scores)} scored)")
        typer.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
        if not list_users(engine):
            typer.echo(f"no users yet: riskcohort users add NAME --role admin --db {db}")
        hosts = allowed_hosts(host, allowed_host)
        # the same settings for one process (Settings) and for --workers processes (JSON)
        settings = {"secure_cookies": secure_cookies, "allowed_hosts": list(hosts)}
        options = uvicorn_options(host, port, trusted_proxy)
        if workers > 1:
            from riskcohort.app.server import config_env

            os.environ.update(config_env([str(p) for p in paths], db, settings,
                                         str(audit_key) if audit_key else None))
            engine.dispose()
            uvicorn.run("riskcohort.app.server:build", factory=True, workers=workers, **options)
            return
        application = create_app(runs, engine,
                                 Settings(secure_cookies=secure_cookies, allowed_hosts=hosts))
        uvicorn.run(application, **options)

    @users_app.command("init")
    def users_init(db: str = typer.Option(None, "--db", help=DB_HELP),
                   audit_key: Path = typer.Option(None, "--audit-key", help=KEY_HELP)) -> None:
        """Create (or upgrade) the database and the audit key; print where the key is."""
        from riskcohort.app.audit import key_id, key_of, load_key
        from riskcohort.app.db import open_db

        url = _db(db)
        engine = open_db(url, audit_key)
        _, source, _ = load_key(str(engine.url.render_as_string(hide_password=False)),
                                audit_key, create=False)
        typer.echo(f"database ready: {engine.url.render_as_string(hide_password=True)}")
        typer.echo(f"audit key: {source} (key id {key_id(key_of(engine))}); keep a copy "
                   "somewhere safe and out of reach of database administrators")
        typer.echo(f"export the audit head regularly: riskcohort audit head --db {url} "
                   "--out <file kept elsewhere>")

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
    def audit_verify(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        head: Path = typer.Option(None, "--head", help="Head file from `riskcohort audit head`"
                                  " kept outside the database: also detects truncation and "
                                  "wipe-and-rebuild."),
        audit_key: Path = typer.Option(None, "--audit-key", help=KEY_HELP),
    ) -> None:
        """Check the keyed audit chain, sealed decisions and the head; exit 1 naming the first
        bad row."""
        from riskcohort.app.audit import read_head, verify
        from riskcohort.app.db import open_db

        engine = open_db(_db(db), audit_key, create_key=False)
        exported = read_head(engine, head) if head else None
        v = verify(engine, head=exported)
        if not v.ok:
            where = f"row {v.bad_id}" if v.bad_id is not None else "the head"
            raise UserError(f"audit chain broken at {where}: {v.reason} "
                            f"({v.rows} rows verified)", exit_code=1)
        against = f"; matches the exported head at row {exported['last_id']}" if exported else ""
        typer.echo(f"audit chain intact: {v.rows} rows{against}")

    @audit_app.command("head")
    def audit_head(
        db: str = typer.Option(None, "--db", help=DB_HELP),
        out: Path = typer.Option(None, "--out", help="Write the head here (default: print)."),
        audit_key: Path = typer.Option(None, "--audit-key", help=KEY_HELP),
    ) -> None:
        """Export the signed chain head, to be stored outside the database (e.g. daily)."""
        import json

        from riskcohort.app.audit import export_head
        from riskcohort.app.db import open_db

        text = json.dumps(export_head(open_db(_db(db), audit_key, create_key=False)),
                          indent=2, sort_keys=True) + "\n"
        if out:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"audit head written to {out}")
        else:
            typer.echo(text, nl=False)
