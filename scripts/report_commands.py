"""`ledger report` (SPEC §7): phase totals, a year's reconciliation and what changed between
two moments, as a table, csv, json, or a document to hand around (xlsx, html, pdf; see
scripts/exports/documents.py). Thin shells over projections/ and scripts/exports/reports.py.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.tabular import figure_rows
from ledger import Ledger
from projections import ReadModelsImpl
from projections.base import is_digits
from projections.cells import safe_text
from scripts.output import OutputOption, target
from scripts.projection_commands import (
    AsOfOption,
    EffectiveOnOption,
    _at,
    _day,
    _read_side,
    _refusals,
)

if TYPE_CHECKING:
    from scripts.exports.documents import Report

report_app = typer.Typer(help="Reports from the read models, optionally as of a past moment "
                              "and by business date.", no_args_is_help=True)
Builder = Callable[[Ledger, ReadModelsImpl, dict[str, Any]], "Report"]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"
    html = "html"  # with inline SVG charts
    pdf = "pdf"  # with charts, the font embedded


# Documents for people, in German with the footer (SPEC §7); csv and json are for programs.
DOCUMENTS = (Format.table, Format.xlsx, Format.html, Format.pdf)
FormatOption = Annotated[Format, typer.Option(
    "--format", help="table, csv, json, or a document: xlsx, html or pdf (with charts)")]


@report_app.command("phase-totals")
def phase_totals(phase: str, format: FormatOption = Format.table,  # the CLI's word
                 output: OutputOption = None, as_of: AsOfOption = None,
                 effective_on: EffectiveOnOption = None) -> None:
    """Phase totals of PHASE."""
    from scripts.exports import reports

    with _read_side() as (ledger, read_models), _refusals():
        answer = read_models.phase_totals(phase, at=_at(ledger, read_models, as_of),
                                          effective_on=_day(effective_on))
        document = _document(format, reports.phase_totals, ledger, read_models, answer)
    _emit(answer, format, output, document)


@report_app.command("reconciliation")
def reconciliation(programme: str, year: int, *, format: FormatOption = Format.table,
                   output: OutputOption = None, as_of: AsOfOption = None,
                   effective_on: EffectiveOnOption = None) -> None:
    """Yearly budget reconciliation of PROGRAMME for fiscal YEAR."""
    from scripts.exports import reports

    with _read_side() as (ledger, read_models), _refusals():
        answer = read_models.reconciliation(programme, year, at=_at(ledger, read_models, as_of),
                                            effective_on=_day(effective_on))
        document = _document(format, reports.reconciliation, ledger, read_models, answer)
    _emit(answer, format, output, document)


# (changes has no --as-of: its two moments are --from and --to)
ChangesEffectiveOnOption = Annotated[str | None, typer.Option(
    "--effective-on", help="YYYY-MM-DD: only what concerns the money of this business date "
    "and before.")]


@report_app.command("changes")
def changes(from_: Annotated[str, typer.Option(
                "--from", help="POS|DATE: the earlier moment (a date: its start, UTC)")],
            to: Annotated[str, typer.Option(
                "--to", help="POS|DATE: the later moment (a date: its end, UTC)")],
            format: FormatOption = Format.table, output: OutputOption = None,
            effective_on: ChangesEffectiveOnOption = None) -> None:
    """What changed between two moments, with the deltas of every phase's figures.

    New applications, awards, payments, repayments and closures (the "since my last
    report" view); with --effective-on, only what concerns the money of that business
    date and before."""
    from scripts.exports import reports

    with _read_side() as (ledger, read_models), _refusals():
        read_models.catch_up()
        head = ledger.head()[0]
        start = _moment(ledger, from_, "--from", end_of_day=False, head=head)
        end = _moment(ledger, to, "--to", end_of_day=True, head=None)  # beyond: up to now
        if end < start:
            raise typer.BadParameter("--to is before --from", param_hint="--to")
        answer = reports.changes(ledger, read_models, start, min(end, read_models.position()),
                                 _day(effective_on))
        document = _document(format, lambda lg, _, a: reports.changes_report(lg, a), ledger,
                             read_models, answer)
    rows = [("events", str(answer["events"]))]
    for name, c in answer["changes"].items():
        rows += [(f"{name}:count", str(c["count"])), (f"{name}:total", c["total"])]
    rows += [(f"{p['phase_id']}:{n}:delta", f["delta"]) for p in answer["phases"]
             for n, f in p["figures"].items()]
    _emit(answer, format, output, document, rows)


def _moment(ledger: Ledger, text: str, hint: str, *, end_of_day: bool,
            head: int | None) -> int:
    """The position of `text`: a position (with a `head`, refused beyond it: changes from a
    moment that has not happened are none, and would change with the next write), or the
    last position recorded by a date's end or start, or a timestamp."""
    if is_digits(text):
        if head is not None and int(text) > head:
            raise typer.BadParameter(f"position {int(text)} is beyond the log's head ({head})",
                                     param_hint=hint)
        return int(text)
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text),
                                      time.max if end_of_day else time.min, UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("a position, a date YYYY-MM-DD or an ISO timestamp",
                                 param_hint=hint) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ledger.position_at(moment)


def _document(format: Format, build: Builder, ledger: Ledger, read_models: ReadModelsImpl,
              answer: dict[str, Any]) -> bytes | None:
    if format not in DOCUMENTS:
        return None
    from scripts.exports import documents  # openpyxl and fpdf2 load only when asked for

    return documents.RENDERERS[format.value](build(ledger, read_models, answer))


def _emit(answer: dict[str, Any], format: Format, output: Path | None,
          document: bytes | None, rows: list[tuple[str, str]] | None = None) -> None:
    """The document, or the answer as JSON, or as CSV: `rows`, or else the API's
    `figure,value` rows of the answer (`Accept: text/csv`), names and cells alike."""
    if document is not None:
        _write(document, output)
        return
    if format is Format.json:
        text = json.dumps(answer, indent=2, ensure_ascii=False) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["figure", "value"])
        writer.writerows(figure_rows(answer) if rows is None else
                         ([safe_text(name), safe_text(value)] for name, value in rows))
        text = buffer.getvalue()
    if output is None:
        sys.stdout.write(text)
    else:
        _write(text.encode("utf-8"), output)


def _write(content: bytes, output: Path | None) -> None:
    with target(output) as out:
        out.write(content)
