"""`ledger export --format 360giving|iati` (SPEC §7): open-data export of grants and their
transactions, a thin shell over scripts/exports/. See docs/exports.md."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from scripts.exports import iati, iter_grants, threesixtygiving
from scripts.output import OutputOption, target
from scripts.projection_commands import AsOfOption, _at, _day, _read_side, _refusals


class ExportFormat(StrEnum):
    threesixtygiving = "360giving"
    iati = "iati"


def export(
    format: Annotated[ExportFormat, typer.Option(  # the CLI's word
        "--format", help="360giving (JSON data package 1.4) or iati (activities XML 2.03)")],
    output: OutputOption = None,
    as_of: AsOfOption = None,
    effective_on: Annotated[str | None, typer.Option(
        "--effective-on", help="YYYY-MM-DD: the grants as they stood on this business "
        "date (awarded by then; payments and repayments dated by then).")] = None,
    funder_id: Annotated[str | None, typer.Option(
        "--funder-id", help="Organisation identifier of the funder "
                            "(default: 360G-<programme>-funder, a local one).")] = None,
) -> None:
    """Export every grant with its award, disbursements and repayments, as open data.

    Every grant approved, closed or revoked, one at a time (memory bounded)."""
    with _read_side() as (ledger, read_models), _refusals():
        # One grant at a time, from the read models to the document (memory bounded).
        grants = iter_grants(read_models, at=_at(ledger, read_models, as_of),
                             effective_on=_day(effective_on))
        first = next(grants, None)
        if first is None:
            typer.echo("error: no grants to export", err=True)
            raise typer.Exit(1)
        moment = _moment(as_of)
        with target(output) as out:
            if format is ExportFormat.threesixtygiving:
                threesixtygiving.write_package(itertools.chain([first], grants), out,
                                               issued=moment, funder=funder_id)
            else:
                iati.write_activities(itertools.chain([first], grants), out,
                                      generated=moment, funder=funder_id)


def _moment(as_of: str | None) -> str:
    """When the document stands: the --as-of moment (already checked by _at), else now."""
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def register(app: typer.Typer) -> None:
    app.command()(export)
