"""The command line's settings: a `LEDGER_*` variable the ledger cannot use (a database
URL of another scheme, a log format it does not write, a lag that is not a number …) is
one line per variable on stderr and exit `CONFIG_ERROR`, not a traceback."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError

from ledger import Settings
from scripts.store import shown_url

#: Exit status of a command refused for its configuration: sysexits' EX_CONFIG.
CONFIG_ERROR = 78

_PREFIX = Settings.model_config.get("env_prefix", "")


def load_settings(**overrides: Any) -> Settings:
    """`Settings()` from the environment (and `overrides`), or exit CONFIG_ERROR naming
    each variable it refused, its value and why."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        for line in problems(exc):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(CONFIG_ERROR) from None


def problems(exc: ValidationError) -> list[str]:
    """One line per refused setting: `LEDGER_NAME='value': why`."""
    lines = []
    for error in exc.errors():
        name = _PREFIX + "_".join(str(part) for part in error["loc"]).upper()
        why = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        if isinstance(value, str) and value != shown_url(value):  # a password in a URL
            why, value = why.replace(value, shown_url(value)), shown_url(value)
        if name in why:  # the validator's message names the variable and its value
            lines.append(why)
        else:
            lines.append(f"{name}={value!r}: {why}" if isinstance(value, str)
                         else f"{name}: {why}")
    return lines
