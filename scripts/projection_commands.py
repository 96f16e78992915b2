"""`ledger replay`, `ledger verify` and `ledger report` (SPEC §7): thin shells over projections/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ledger import Ledger, LedgerError, build_ledger
from ledger.persistence.accounts import AccountsReport, rederive_accounts
from ledger.persistence.chain import ChainReport
from ledger.persistence.snapshots import audit_snapshots
from projections import ReadModelsImpl, build_read_models
from projections.base import is_digits
from projections.rebuild import RebuildBusy, VerifyBusy, exclusive_verify
from scripts.configuration import load_settings
from scripts.store import removed_on_failure, require_ledger


@contextmanager
def _read_side() -> Iterator[tuple[Ledger, ReadModelsImpl]]:
    """The ledger and its read models, for a command that reads the log: a store without a
    ledger is refused (exit 66), never created (scripts/store.py)."""
    settings = load_settings()
    require_ledger(settings)
    with removed_on_failure(settings):
        ledger = build_ledger(settings)
        read_models = build_read_models(settings, ledger)
        try:
            yield ledger, read_models
        finally:
            read_models.close()
            ledger.close()


def replay(
    projection: Annotated[list[str] | None, typer.Option(
        "--projection", help="Rebuild only this projection (audit, grants); repeatable.")] = None,
) -> None:
    """Rebuild projections from the log into new tables, then switch to them atomically."""
    console = Console(stderr=True)
    with _read_side() as (ledger, read_models), Progress(
        TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:
        head = ledger.head()[0]
        task = bar.add_task("replay", total=head or 1)
        try:
            events, seconds = read_models.replay(
                projection, progress=lambda done, _: bar.update(task, completed=done))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--projection") from None
        except RebuildBusy as exc:
            bar.stop()
            typer.echo(f"replay: {exc}", err=True)
            raise typer.Exit(BUSY) from None
        bar.update(task, completed=head or 1)
    rate = events / seconds if seconds else 0.0
    typer.echo(f"replayed {events} events in {seconds:.2f} s ({rate:,.0f} events/s)")


def verify(
    digest: Annotated[str | None, typer.Option(
        help="POS:HASH handed out earlier (`ledger head`); the chain must still match it.")] = None,
) -> None:
    """Check the chain, the projections, the snapshots and the accounts' signs.

    The hash chain (and that it still matches --digest); that every projection equals a
    fresh replay; that every snapshot equals a fold of the chained events; and that no
    account that must stay >= 0 went negative."""
    expected = _digest(digest) if digest else None
    with _read_side() as (ledger, read_models), _exclusive(read_models), _bars() as progress:
        head = ledger.head()[0]

        def folds() -> tuple[ChainReport, AccountsReport]:
            chain = ledger.verify_chain(expected, progress=lambda at: progress("chain", at, head))
            progress("chain", chain.head_position, head)
            return chain, rederive_accounts(
                ledger, progress=lambda at: progress("accounts", at, head))

        if read_models.db.dialect == "postgresql":
            # The chain and the accounts' fold read the log on connections of their own
            # while the projections' fresh replays run in processes, and this process
            # would otherwise only wait for them (docs/projections.md).
            with ThreadPoolExecutor(1, thread_name_prefix="verify-folds") as pool:
                side = pool.submit(folds)
                report = read_models.verify(progress=progress, locked=True)
                chain, accounts = side.result()
        else:
            chain, accounts = folds()
            report = read_models.verify(progress=progress, locked=True)
        snapshots, snapshot_problems = audit_snapshots(ledger)
    _report_chain(chain, expected)
    for name, position in report.positions.items():
        typer.echo(f"projection {name}: compared at position {position}")
    for diff in report.differences:
        typer.echo(f"projection {diff.projection}, table {diff.table}: "
                   f"{diff.count} rows differ from a fresh replay")
        for problem in diff.problems:
            typer.echo(f"  {problem}")
    # Nothing outside the chain decides: snapshots and the ≥0 accounts against a fold of it.
    typer.echo(f"snapshots: {snapshots - len(snapshot_problems)} of {snapshots} equal a fold "
               "of the chained events")
    for snapshot_problem in snapshot_problems:
        typer.echo(f"  {snapshot_problem}")
    typer.echo(f"accounts: {accounts.accounts} re-derived from {accounts.events} chained events, "
               f"{len(accounts.negative)} of those kept >=0 below zero")
    for negative in accounts.negative:
        typer.echo(f"  account {negative.account} stood at {negative.balance} "
                   f"(first below zero at position {negative.first_position})")
    if not chain.verified or not report.ok or snapshot_problems or not accounts.ok:
        typer.echo("verify: FAILED")
        raise typer.Exit(1)
    typer.echo("verify: ok")


def _report_chain(chain: ChainReport, expected: tuple[int, str] | None) -> None:
    """The chain's verdict, and the digest's apart from it: a chain that holds together
    but not the auditor's digest is not called broken (a digest miscopied, or one of
    another ledger, reads differently from a changed or deleted row)."""
    intact = f"chain: ok, {chain.checked} events, head {chain.head_position}:{chain.head_hash}"
    missed = chain.intact and not chain.verified and expected is not None
    reason = _digest_miss(chain) if missed else chain.problem
    if chain.verified:
        typer.echo(intact)
    elif missed and expected is not None:
        position, digest = expected
        typer.echo(f"{intact}; digest {position}:{digest} does NOT match the chain ({reason})")
        typer.echo("  the chain holds together, but not with this digest: check that it was "
                   "copied right; if this ledger handed it out, its log was altered since")
    else:
        typer.echo(f"chain: BROKEN at position {chain.broken_at}: {chain.problem}")
    if expected is not None:
        # One line an auditor can file: what was checked, when, and the verdict.
        verdict = "ok" if chain.verified else f"FAILED ({reason})"
        typer.echo(f"digest {expected[0]}:{expected[1]} checked at "
                   f"{datetime.now(UTC).isoformat(timespec='seconds')}: {verdict}")


def _digest_miss(chain: ChainReport) -> str:
    """Why an intact chain does not match the digest, in the chain's terms."""
    position = chain.broken_at
    if chain.found is not None:
        return f"the chain has {chain.found} at position {position}"
    if position is not None and position > chain.head_position:
        return f"the log ends at position {chain.head_position}, before the digest's {position}"
    return f"the chain has no link at position {position}"


BUSY = 75


@contextmanager
def _exclusive(read_models: ReadModelsImpl) -> Iterator[None]:
    """One verify per store at a time; a second one says so at once and exits 75
    (sysexits' EX_TEMPFAIL: try again later), not 1, which is a verdict."""
    try:
        with exclusive_verify(read_models.runner):
            yield
    except VerifyBusy as exc:
        typer.echo(f"verify: {exc}", err=True)
        raise typer.Exit(BUSY) from None


@contextmanager
def _bars() -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars on stderr, one per stage (chain, replay and compare of each)."""
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total or 1)
            bar.update(tasks[what], completed=done, total=max(total, done, 1))

        yield update


def _digest(text: str) -> tuple[int, str]:
    position, _, head = text.partition(":")
    if not is_digits(position) or len(head) != 64:
        raise typer.BadParameter("POS:HASH, e.g. 1234:9f86d08…(64 hex digits)",
                                 param_hint="--digest")
    return int(position), head.lower()


AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="ISO timestamp: the report as the ledger stood then (recorded time).")]
EffectiveOnOption = Annotated[str | None, typer.Option(
    "--effective-on", help="YYYY-MM-DD: only entries effective on or before this business "
    "date (with --as-of: what was known then about the money of that day).")]


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("a date YYYY-MM-DD", param_hint="--effective-on") from None


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except LedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _at(ledger: Ledger, read_models: ReadModelsImpl, as_of: str | None) -> int | None:
    read_models.catch_up()
    if as_of is None:
        return None
    try:
        moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("an ISO timestamp", param_hint="--as-of") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ledger.position_at(moment)


def register(app: typer.Typer) -> None:
    app.command()(replay)
    app.command()(verify)
    from scripts.report_commands import report_app

    app.add_typer(report_app, name="report")
