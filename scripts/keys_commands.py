"""`ledger keys add USER --role R` (SPEC §7): a new API key, printed once; the keys file
keeps only its SHA-256 (api/auth.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.auth import ROLES, Role, add_key

keys_app = typer.Typer(name="keys", help="API keys: add one (the file keeps only its hash).",
                       no_args_is_help=True)


@keys_app.command("add")
def add(
    user: Annotated[str, typer.Argument(help="who the key belongs to (recorded as `actor`)")],
    role: Annotated[list[str], typer.Option(
        "--role", "-r", help=f"a role it holds, repeatable: {', '.join(ROLES)}")],
    keys_file: Annotated[Path | None, typer.Option(
        help="the keys file (default: LEDGER_API_KEYS_FILE)")] = None,
) -> None:
    """Print a new key for USER once; store only its SHA-256 in the keys file."""
    from scripts.configuration import load_settings

    path = keys_file or load_settings().api_keys_file
    if path is None:
        raise typer.BadParameter("give --keys-file or set LEDGER_API_KEYS_FILE",
                                 param_hint="--keys-file")
    unknown = sorted(set(role) - set(ROLES))
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: roles are {', '.join(ROLES)}",
                                 param_hint="--role")
    roles: list[Role] = [r for r in ROLES if r in role]
    try:
        key = add_key(path, user=user, roles=list(roles))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added a key for {user} ({', '.join(roles)}) to {path}; it is shown only "
               "now, the file keeps its SHA-256:", err=True)
    typer.echo(key)
    typer.echo("a running `ledger serve` reads the keys file when it starts: restart it for "
               "the key to work", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app)
