"""`ledger serve`, `ledger demo` and `ledger import` (SPEC §7): thin shells over api/."""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger import Actor, Settings, build_ledger
from ledger.errors import AlreadyExists, LedgerError
from ledger.settings import database_kind
from scripts.configuration import CONFIG_ERROR, load_settings
from scripts.store import removed_on_failure, shown_url

WORKER_HEALTHCHECK_SECONDS = 30  # a worker's start may take longer on a loaded machine
SHUTDOWN_SECONDS = 10  # beyond the longest wait for the read models (api/deps.WAIT_SECONDS)

# Who gets a key in the demo: one per role, and a second clerk, approver and
# finance user so four eyes can be tried by hand.
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("admin", "ada"),
    ("clerk", "clara"),
    ("approver", "anna"),
    ("finance", "fritz"),
    ("auditor", "ida"),
    ("clerk", "carl"),
    ("approver", "arne"),
    ("finance", "frieda"),
)


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="worker processes (one per core); one of them runs the projections")] = 1,
    projector: Annotated[bool, typer.Option(
        "--projector/--no-projector",
        help="run the projections in a process of their own (recommended on PostgreSQL: "
             "the workers' interpreters then only answer requests)")] = False,
    shutdown_timeout: Annotated[int, typer.Option(
        min=1, help="on SIGTERM or Ctrl-C, seconds to let running requests finish before "
                    "they are cancelled (event streams end at once)")] = SHUTDOWN_SECONDS,
) -> None:
    """Run the API (uvicorn) on the configured store, projections kept up to date."""
    settings = load_settings()
    _refuse_what_would_stop_it(settings)
    if settings.api_keys_file is None:
        typer.echo("warning: LEDGER_API_KEYS_FILE is not set, so every request that needs a "
                   "key gets 401 (`ledger demo` writes ledger-demo-keys.json)", err=True)
    _serve(settings, host=host, port=port, workers=workers, projector=projector,
           shutdown_timeout=shutdown_timeout)


def _refuse_what_would_stop_it(settings: Settings, *, keys: bool = True) -> None:
    """Exits CONFIG_ERROR with one line, before anything starts, for what would otherwise
    stop the server at start with a traceback in its log (a keys file it cannot use;
    not `keys` where the command writes the file itself) or be found by requests later
    (a rate-limit storage it cannot reach)."""
    from api.auth import ApiKeys
    from api.ratelimit import storage_problem

    try:
        if keys:
            ApiKeys.load(settings.api_keys_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(CONFIG_ERROR) from None
    if settings.rate_limit.strip():
        problem = storage_problem(settings.rate_limit_storage)
        if problem is not None:
            storage = shown_url(settings.rate_limit_storage)  # (its password not shown)
            typer.echo(f"error: LEDGER_RATE_LIMIT_STORAGE={storage}: cannot reach it "
                       f"({problem.replace(settings.rate_limit_storage, storage)})", err=True)
            raise typer.Exit(CONFIG_ERROR)


def _serve(settings: Settings, *, host: str, port: int, workers: int = 1,
           projector: bool = False, shutdown_timeout: int = SHUTDOWN_SECONDS) -> None:
    """One process, or `workers` processes that build the app from the environment.

    Every worker's lifespan builds the ledger and starts the projection runner
    thread; the runners elect one leader per database (projections/leader.py). With
    `projector`, a child process takes the lead first (projections/projector.py).
    """
    one_process = database_kind(settings.database_url) == "memory"
    if workers > 1 and one_process:
        raise typer.BadParameter("a memory:// ledger lives in one process; use --workers 1 "
                                 "or a SQLite or PostgreSQL database", param_hint="--workers")
    if projector and one_process:
        raise typer.BadParameter("a memory:// ledger lives in one process; its projections "
                                 "run in it", param_hint="--projector")
    # The child opens the store (creating its tables) before any worker starts: a store
    # that cannot be opened fails there, once.
    with _projector(settings) if projector else contextlib.nullcontext():
        _run_uvicorn(settings, host=host, port=port, workers=workers,
                     shutdown_timeout=shutdown_timeout)


@contextlib.contextmanager
def _projector(settings: Settings) -> Iterator[None]:
    from ledger.logging import configure_logging
    from projections.projector import Projector

    configure_logging(settings.log_format)
    child = Projector(settings.environment())
    try:
        child.start()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        yield
    finally:
        child.stop()


def _run_uvicorn(settings: Settings, *, host: str, port: int, workers: int,
                 shutdown_timeout: int) -> None:
    import uvicorn

    from api import protocol
    from api.main import create_app

    options: dict[str, Any] = {"host": host, "port": port, "loop": "uvloop",
                               # httptools, its own 400 a problem document too
                               "http": protocol.IMPORT_STRING,
                               "log_config": None, "access_log": False,
                               # a request still running then is cancelled: a stop ends
                               "timeout_graceful_shutdown": shutdown_timeout}
    if workers == 1:
        uvicorn.run(create_app(settings, settle=True), **options)
        return
    _prepare_store(settings)
    os.environ.update(settings.environment())  # the workers' create_app reads them back
    # Each worker counts into files of one directory, which any worker's /metrics sums.
    from api.metrics import shared_directory

    metrics_dir, made = shared_directory()
    try:
        # uvicorn.run's own path for workers, with a supervisor that lets go of the
        # listening socket as it stops (_Supervisor). A worker busy starting (building the
        # app, opening the store) is given longer than uvicorn's 5 s before it counts as
        # hung and is killed.
        config = uvicorn.Config("api.main:create_served_app", factory=True, workers=workers,
                                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
                                **options)
        sock = config.bind_socket()
        try:
            _supervise(config, sock)
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()
    finally:
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(config: Any, sock: socket.socket) -> None:
    """uvicorn's supervisor of workers (`Multiprocess`), closing its copy of the listening
    socket before it stops the workers: each worker closes its own as its shutdown
    starts, and the socket closes with the last, so a client connecting meanwhile is
    refused (and tries again). With the supervisor's copy open, the kernel accepted such
    connections into a backlog no one read, and reset them seconds later."""
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        def terminate_all(self) -> None:
            for listening in self.sockets:
                listening.close()
            super().terminate_all()

    Supervisor(config, sockets=[sock]).run()


def _prepare_store(settings: Settings) -> None:
    """Opens the store once, creating its tables, before the workers start: a store that
    cannot be opened fails here, once, instead of in every worker. (Workers starting
    together no longer race on CREATE TABLE: the schema's DDL takes an advisory lock,
    ledger/persistence/postgres.py.)"""
    from projections import build_read_models

    ledger = build_ledger(settings)
    try:
        build_read_models(settings, ledger).close()
    finally:
        ledger.close()


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load and exit")] = False,
    keys_file: Annotated[Path | None, typer.Option(
        help="where to write the API keys (default: LEDGER_API_KEYS_FILE if set, else "
             "ledger-demo-keys.json); other users' keys in it stay")] = None,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
) -> None:
    """Load the Starke Heimat Hessen 2020 scenario, write a keys file, print keys, serve."""
    from api.auth import check_writable
    from scripts.demo_data import load_2020_scenario  # written alongside; heavy data file

    settings = load_settings()
    keys_file = keys_file or settings.api_keys_file or Path("ledger-demo-keys.json")
    try:  # a broken keys file, or one it cannot write, stops the demo before it writes
        kept = other_users_keys(keys_file)
        check_writable(keys_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not no_serve:  # (the keys file is the demo's to write)
        _refuse_what_would_stop_it(settings, keys=False)
    with removed_on_failure(settings):
        ledger = build_ledger(settings)
        try:
            summary = load_2020_scenario(ledger)
            typer.echo(f"loaded {summary['applications']} applications, awarded "
                       f"{summary['awarded_total']} EUR, paid {summary['paid_total']} EUR "
                       f"({summary['events_written']} events)")
        except AlreadyExists as exc:
            typer.echo(f"scenario already loaded ({exc.detail}); using the store as it is")
        finally:
            ledger.close()
    keys = write_demo_keys(keys_file, keep=kept)
    typer.echo(f"keys written to {keys_file} (LEDGER_API_KEYS_FILE)"
               + (f"; {len(kept)} other keys in it kept" if kept else ""))
    for entry in keys:
        typer.echo(f"  {entry['roles'][0]:<9} {entry['user']:<7} {entry['key']}")
    if no_serve:  # nothing listens: say how to serve it, not where it would be
        address = "" if (host, port) == ("127.0.0.1", 8000) else f" --host {host} --port {port}"
        # the store too, unless it is the default one: else the line serves an empty one
        url = settings.database_url
        store = "" if url == Settings.model_fields["database_url"].default else (
            f"LEDGER_DATABASE_URL={shlex.quote(shown_url(url))} ")
        typer.echo("not serving (--no-serve); to serve it: "
                   f"{store}LEDGER_API_KEYS_FILE={shlex.quote(str(keys_file))} "
                   f"ledger serve{address}")
        return
    base = f"http://{host}:{port}"
    typer.echo(f"API  {base}/   docs {base}/docs   OpenAPI {base}/openapi.json")
    typer.echo(f"dashboard {base}/ui (sign in with a finance or auditor key)")
    typer.echo(f"try: curl -H 'Authorization: Bearer {keys[4]['key']}' "
               f"{base}/phases/2020-1/totals")
    _serve(settings.model_copy(update={"api_keys_file": keys_file}), host=host, port=port)


def other_users_keys(path: Path) -> list[dict[str, Any]]:
    """The entries of an existing keys file that are not the demo's users (an operator's
    own keys survive a demo run); ValueError for a file that is not a valid keys file."""
    from api.auth import read_keys_file

    try:
        entries = read_keys_file(path)
    except ValueError as exc:
        raise ValueError(f"{path} is not a keys file the demo can add to: {exc.__cause__}"
                         ) from exc.__cause__
    demo_users = {user for _, user in DEMO_USERS}
    return [entry for entry in entries if entry.get("user") not in demo_users]


def write_demo_keys(path: Path, *, keep: list[dict[str, Any]] | None = None
                    ) -> list[dict[str, Any]]:
    """New keys for the demo's users, printed once by the caller, after the entries of
    `keep`; the file (created 0600) keeps only their SHA-256 (api/auth.py)."""
    from api.auth import digest, write_keys_file

    keys = [{"key": f"demo-{role}-{secrets.token_urlsafe(18)}", "user": user, "roles": [role]}
            for role, user in DEMO_USERS]
    entries: list[dict[str, object]] = [*(keep or [])]
    entries += [{"key_sha256": digest(str(entry["key"])), "user": entry["user"],
                 "roles": entry["roles"]} for entry in keys]
    write_keys_file(path, entries)
    return keys


def import_applications(
    file: Annotated[Path, typer.Argument(help="CSV, `,` or `;` separated: phase_id, "
                                         "recipient_id, requested_amount, submitted_on"
                                         "[, reference, measures]",
                                         exists=True, dir_okay=False, readable=True)],
    user: Annotated[str, typer.Option(help="the clerk recorded as actor")] = "import",
) -> None:
    """Import applications from CSV, all or nothing.

    Every row is checked first and every bad row is reported, by line, before anything
    is written."""
    from ledger.heap import settle_heap
    from scripts import import_rows

    settings = load_settings()
    with removed_on_failure(settings):  # refused into a store it made: no empty store left
        ledger = build_ledger(settings)
        settle_heap()  # a large import makes many objects that outlive young collections
        actor = Actor(user=user, role="clerk",
                      correlation_id=f"import-{secrets.token_hex(8)}")
        try:
            data = import_rows.checked_rows(ledger, file, actor=actor)
            # One atomic save: a concurrent writer makes the ledger re-decide the
            # whole batch, never leaves part of it behind.
            last = import_rows.save(ledger, data, actor=actor)
        except LedgerError as exc:
            typer.echo(f"import refused, nothing written: {exc.code}: {exc.detail}",
                       err=True)
            raise typer.Exit(1) from None
        finally:
            ledger.close()
    typer.echo(f"imported {len(data.rows)} applications (last position {last})")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)
    app.command("import")(import_applications)
