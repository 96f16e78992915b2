"""Reading an applications file for `ledger import` as spreadsheets write it, and checking
every row before anything is written: all the bad rows are reported at once, by line.

- `,` or `;` separated (the header line decides), UTF-8 with or without a BOM;
- in a `;` file (German spreadsheets) amounts may use a decimal comma (`36117,00`,
  `36.117,00`), the measures' amounts too; `10.555` is refused there as ambiguous (ten
  thousand or ten euros?);
- dates as ISO (`2020-03-01`) or German (`01.03.2020`);
- a header ending in a delimiter and rows of delimiters only, as spreadsheets save them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ledger import Actor, Ledger, Money, NewApplication
from ledger.commands import SubmitApplications
from ledger.domain.dates import business_dates_in, check_in_window
from ledger.errors import LedgerError, ValidationFailed

IMPORT_COLUMNS = ("phase_id", "recipient_id", "requested_amount", "submitted_on")
OPTIONAL_COLUMNS = ("reference", "measures")
_GERMAN_DATE = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")
_DECIMAL_COMMA = re.compile(r"^[0-9]+(,[0-9]{1,2})?$")
_PLAIN_AMOUNT = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")
_GROUPED_COMMA = re.compile(r"^[0-9]{1,3}(\.[0-9]{3})+,[0-9]{2}$")

Tick = Callable[[int], None]  # rows done since the last call (a progress bar's advance)


@dataclass
class Problem:
    line: int  # 1 is the header
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.detail}"


@dataclass
class ImportFile:
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each row
    delimiter: str = ","
    problems: list[Problem] = field(default_factory=list)


def count_rows(path: Path) -> int:
    """Lines after the header, for a progress bar's total (quoted line breaks aside)."""
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def read_file(path: Path, *, tick: Tick | None = None) -> ImportFile:
    """Every row parsed, or a problem for each bad one; never raises for the file's content."""
    result = ImportFile()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        result.problems.append(Problem(line, "the file is not UTF-8 text (save it as "
                                             "'CSV UTF-8' in the spreadsheet program)"))
        return result
    header_line = text.split("\n", 1)[0]
    result.delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=result.delimiter)
    header = [name.strip() for name in reader.fieldnames or ()]
    reader.fieldnames = header
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    # A column without a name (a trailing delimiter, as spreadsheets write) is no column:
    # its cells must be empty (`_parse`).
    unknown = sorted(set(header) - set(IMPORT_COLUMNS) - set(OPTIONAL_COLUMNS) - {""})
    if missing or unknown:
        result.problems.append(Problem(1, f"columns: missing {', '.join(missing) or 'none'}, "
                                          f"unknown {', '.join(unknown) or 'none'} (expected "
                                          f"{', '.join(IMPORT_COLUMNS + OPTIONAL_COLUMNS)})"))
        return result
    for line, raw in _records(reader):
        if not any((value or "").strip() if isinstance(value, str) else value
                   for value in raw.values()):
            continue  # a row of delimiters only, as spreadsheets write below the data
        problems = []
        if None in raw:
            problems.append(f"{len(raw[None]) + len(header)} cells where the header has "
                            f"{len(header)}")
        row = _parse(raw, result.delimiter, problems)
        if problems:
            result.problems.extend(Problem(line, p) for p in problems)
        else:
            result.rows.append(row)
            result.lines.append(line)
        if tick is not None:
            tick(1)
    if not result.rows and not result.problems:
        result.problems.append(Problem(2, "the file holds no rows"))
    return result


def _records(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[Any, Any]]]:
    """(the record's line, the record): its last line when a quoted cell spans several;
    blank lines are skipped but counted."""
    for raw in reader:
        yield reader.line_num, raw


def _parse(raw: dict[str, str | None], delimiter: str, problems: list[str]) -> dict[str, Any]:
    def cell(name: str) -> str:
        return (raw.get(name) or "").strip()

    row: dict[str, Any] = {"phase_id": cell("phase_id"), "recipient_id": cell("recipient_id"),
                           "reference": cell("reference") or None, "measures": None}
    if cell(""):
        problems.append(f'"{cell("")}" in a column without a name (the header ends early)')
    for name in ("phase_id", "recipient_id"):
        if not row[name]:
            problems.append(f"{name}: empty")
    row["requested_amount"] = _amount(cell("requested_amount"), delimiter, problems)
    row["submitted_on"] = _date(cell("submitted_on"), problems)
    if cell("measures"):
        try:
            row["measures"] = json.loads(cell("measures"))
        except json.JSONDecodeError as exc:
            problems.append(f"measures: not JSON ({exc.msg} at character {exc.pos})")
        else:
            if not isinstance(row["measures"], list):
                problems.append("measures: a JSON list of {category, description, amount}")
            else:  # amounts read as the file's requested_amount is, refused alike
                for n, measure in enumerate(row["measures"]):
                    if isinstance(measure, dict) and isinstance(measure.get("amount"), str):
                        amount = _amount(measure["amount"].strip(), delimiter, problems,
                                         field=f"measures[{n}].amount")
                        if amount is not None:
                            measure["amount"] = str(amount)
    return row


def _amount(text: str, delimiter: str, problems: list[str],
            field: str = "requested_amount") -> Money | None:
    written = text
    if delimiter == ";" and "," in text:
        if _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        elif _GROUPED_COMMA.match(text):
            text = text.replace(".", "").replace(",", ".")
    elif delimiter == ";" and re.match(r"^[0-9]{1,3}\.[0-9]{3}$", text):
        problems.append(f'{field}: "{written}" is ambiguous in a ;-separated file '
                        f"(thousands or decimals?): write {text.replace('.', '')},00 or "
                        f"{text[:-1]}")
        return None
    example = "40000,00 or 40000.00" if delimiter == ";" else "40000.00"
    if not _PLAIN_AMOUNT.match(text):
        problems.append(f'{field}: "{written}" is not an amount: use {example}')
        return None
    try:
        return Money.positive(text, field=field)
    except LedgerError as exc:
        problems.append(f'{field}: "{written}": {exc.detail}')
        return None


def _date(text: str, problems: list[str]) -> date | None:
    german = _GERMAN_DATE.match(text)
    try:
        if german:
            day, month, year = (int(part) for part in german.groups())
            return date(year, month, day)
        return date.fromisoformat(text) if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", text) \
            else _not_a_date(text)
    except ValueError as exc:
        problems.append(f'submitted_on: "{text}" is not a date: use 2020-03-01 or 01.03.2020 '
                        f"({exc})")
        return None


def _not_a_date(text: str) -> date:
    raise ValueError("neither YYYY-MM-DD nor DD.MM.YYYY" if text else "empty")


def check_rows(ledger: Ledger, data: ImportFile, *, actor: Actor,
               tick: Tick | None = None) -> None:
    """Adds a problem for each row the ledger as it stands would refuse, without writing:
    each row's own rules (I1, and I13 as `execute` checks it before deciding), then the
    ledger decides the import of the rest (`dry_run`) and names every row it refuses.

    The ledger decides again when the batch is saved, atomically, so a concurrent writer
    can only make the whole import fail, never leave part of it written (`save`).
    """
    window = ledger.business_dates()
    lines: list[int] = []
    rows: list[NewApplication] = []
    for line, raw in zip(data.lines, data.rows, strict=True):
        try:
            row = NewApplication(**raw).checked()
            for name, day in business_dates_in(row):
                check_in_window(day, *window, what=name)
        except LedgerError as exc:
            data.problems.append(Problem(line, f"{exc.code}: {exc.detail}"))
            continue
        lines.append(line)
        rows.append(row)
    if rows:
        try:
            ledger.dry_run(actor, SubmitApplications(applications=rows))
        except LedgerError as exc:
            if not exc.rows:
                raise
            data.problems.extend(problems_of(exc, lines))
    if tick is not None:
        tick(len(data.rows))
    data.problems.sort(key=lambda p: p.line)


def problems_of(refusal: LedgerError, lines: list[int]) -> list[Problem]:
    """A refusal of a batch's rows (`refusal.rows`), each named by its file line."""
    return [Problem(lines[n], f"{exc.code}: {exc.detail}") for n, exc in refusal.rows]


class ImportRefused(ValidationFailed):
    """Raised by `checked_rows` when any row is bad; `problems` holds every one, by line."""

    def __init__(self, problems: list[Problem], rows: int) -> None:
        self.problems = problems
        lines = len({p.line for p in problems})
        summary = f"{lines} bad line(s) of {rows}" if rows else "no rows"
        super().__init__(f"{summary}:\n" + "\n".join(map(str, problems)))


PROGRESS_FROM = 2000  # rows: a file this long shows a progress bar (on a terminal)


def checked_rows(ledger: Ledger, path: Path, *, actor: Actor) -> ImportFile:
    """The file's rows (keyword arguments of NewApplication), every one checked against
    the ledger. Raises ImportRefused listing every bad row when there is any."""
    total = count_rows(path)
    with _progress(total) as (read_tick, check_tick):
        data = read_file(path, tick=read_tick)
        if data.rows and not any(p.line == 1 for p in data.problems):
            check_rows(ledger, data, actor=actor, tick=check_tick)
    if data.problems:
        raise ImportRefused(data.problems, total)
    return data


def save(ledger: Ledger, data: ImportFile, *, actor: Actor) -> int:
    """Saves the checked rows in one atomic decision; the last position written. A row
    a concurrent writer has made bad since the check refuses the whole import, by line."""
    try:
        return ledger.execute(actor, SubmitApplications(
            applications=[NewApplication(**row) for row in data.rows])).position
    except LedgerError as exc:
        if not exc.rows:
            raise
        raise ImportRefused(problems_of(exc, data.lines), len(data.rows)) from None


@contextmanager
def _progress(total: int) -> Iterator[tuple[Tick | None, Tick | None]]:
    if total < PROGRESS_FROM:
        yield None, None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        reading = progress.add_task("reading ", total=total)
        checking = progress.add_task("checking", total=total)
        yield (lambda n: progress.advance(reading, n)), (lambda n: progress.advance(checking, n))
