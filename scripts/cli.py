"""The `ledger` command line (SPEC §7). Each command is a thin shell over
ledger/, projections/ and api/; the commands are registered below by area."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.version import VERSION

app = typer.Typer(
    name="ledger",
    help="Program Ledger: an event-sourced ledger for public grant programmes.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ledger (program-ledger) {VERSION}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the installed version and exit.")] = False,
) -> None:
    """Program Ledger: an event-sourced ledger for public grant programmes."""


@app.command()
def head() -> None:
    """Print the log's head: position and hash (a digest to hand to an auditor)."""
    from ledger import build_ledger
    from scripts.configuration import load_settings
    from scripts.store import require_ledger

    settings = load_settings()
    require_ledger(settings)  # a missing store is no ledger, not an empty one at 0:000…
    ledger = build_ledger(settings)
    try:
        position, digest = ledger.head()
    finally:
        ledger.close()
    typer.echo(f"{position}:{digest}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def bench(ctx: typer.Context) -> None:
    """The benchmark of SPEC §9 (`ledger bench --help` lists its options)."""
    from scripts.bench import main

    raise typer.Exit(main(ctx.args))


# -- registered by area (keep each area's commands in its own module) ----------
# api/CLI: serve, demo, import       -> scripts/serve_commands.py
# projections: replay, verify, report -> scripts/projection_commands.py

from scripts import projection_commands  # noqa: E402  # registered after the app exists

projection_commands.register(app)

from scripts import serve_commands  # noqa: E402  # registered after the app exists

serve_commands.register(app)

from scripts import export_commands  # noqa: E402  # registered after the app exists

export_commands.register(app)

from scripts import keys_commands  # noqa: E402  # registered after the app exists

keys_commands.register(app)


if __name__ == "__main__":  # `python -m scripts.cli`, as the bench starts `ledger serve`
    app(prog_name="ledger")
