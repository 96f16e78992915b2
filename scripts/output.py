"""`--output FILE` of `ledger report` and `ledger export`: checked while the command line is
parsed, before a long report or export starts, and written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, NoReturn

import typer


def _writable(value: Path | None) -> Path | None:
    """The --output path, or a usage error (exit 2) naming it and why it cannot be written."""
    if value is None:
        return None
    problem = unwritable(value)
    if problem is not None:
        raise typer.BadParameter(f"cannot write {value}: {problem}")
    return value


def unwritable(path: Path) -> str | None:
    """Why a file cannot be written at `path` (its directory missing, not one, or not
    writable; the path a directory), or None when it can."""
    if path.is_dir():
        return "it is a directory"
    directory = path.parent
    if not directory.exists():
        return f"directory {directory} does not exist"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable"
    return None


OutputOption = Annotated[Path | None, typer.Option(
    "--output", help="Write to FILE (replaced only when complete; its directory must exist).",
    callback=_writable)]


@contextlib.contextmanager
def target(output: Path | None) -> Iterator[IO[bytes]]:
    """Standard output, or FILE written whole or not at all: a temporary file beside it,
    renamed over it once the document is complete (a command that fails midway leaves
    FILE as it was). A FILE that cannot be written after all (its directory removed since
    the command line was checked) is one line on stderr and exit 1."""
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    # This process's own: a second export to FILE at the same time writes its own.
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        try:
            opened = partial.open("wb")
        except OSError as exc:
            _cannot_write(output, exc)
        with opened as out:
            yield out
        try:
            os.replace(partial, output)
        except OSError as exc:
            _cannot_write(output, exc)
    finally:
        partial.unlink(missing_ok=True)


def _cannot_write(output: Path, exc: OSError) -> NoReturn:
    typer.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
    raise typer.Exit(1) from None
