"""`ledger import` as people use it (issue 10): `,` or `;` files, with or without a BOM,
German amounts and dates in `;` files, every bad row reported at once, nothing written."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from projections.read_models import build_read_models
from scripts import import_rows
from scripts.cli import app
from tests.support.scenario import CLERK, Funded, funded_phase, money, recipients


@pytest.fixture
def store(sql_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LEDGER_DATABASE_URL", sql_database_url)
    return sql_database_url


def _setup(store: str, count: int = 3) -> tuple[Funded, list[str], int]:
    ledger = build_ledger(Settings(database_url=store))
    try:
        f = funded_phase(ledger)
        return f, recipients(ledger, count), ledger.head()[0]
    finally:
        ledger.close()


def _head(store: str) -> int:
    ledger = build_ledger(Settings(database_url=store))
    try:
        return ledger.head()[0]
    finally:
        ledger.close()


def _requested(store: str, phase_id: str) -> str:
    settings = Settings(database_url=store)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    try:
        read.catch_up()
        return str(read.phase_totals(phase_id)["requested"])
    finally:
        read.close()
        ledger.close()


def test_a_semicolon_file_with_a_bom_and_german_formats_imports(
    store: str, tmp_path: Path,
) -> None:
    f, ids, _ = _setup(store)
    path = tmp_path / "antraege.csv"
    path.write_bytes("\ufeffphase_id;recipient_id;requested_amount;submitted_on;reference\r\n"
                     f"{f.phase_id};{ids[0]};36117,00;02.03.2020;DA-1\r\n"
                     f"{f.phase_id};{ids[1]};1.234,50;2020-03-02;DA-2\r\n"
                     f"{f.phase_id};{ids[2]};100.25;3.3.2020;\r\n".encode())

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 0, result.output
    assert "imported 3 applications" in result.output
    assert _requested(store, f.phase_id) == "37451.75"


def test_a_file_as_spreadsheets_save_it_imports(store: str, tmp_path: Path) -> None:
    """A header ending in a delimiter, rows of delimiters only below the data, and a
    measure's amount with a decimal comma, as the file's requested_amount has."""
    f, ids, _ = _setup(store)
    measures = '"[{""category"": ""website"", ""description"": ""Webseite"", ' \
        '""amount"": ""1.234,56""}]"'
    path = tmp_path / "excel.csv"
    path.write_text("phase_id;recipient_id;requested_amount;submitted_on;measures;\r\n"
                    f"{f.phase_id};{ids[0]};1234,56;02.03.2020;{measures};\r\n"
                    f"{f.phase_id};{ids[1]};100,00;02.03.2020;;\r\n"
                    ";;;;;\r\n;;;;;\r\n")

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 0, result.output
    assert "imported 2 applications" in result.output
    assert _requested(store, f.phase_id) == "1334.56"


def test_a_cell_beyond_the_named_columns_and_a_file_of_no_rows_are_named(
        store: str, tmp_path: Path) -> None:
    f, ids, before = _setup(store)
    beyond = tmp_path / "beyond.csv"
    beyond.write_text("phase_id;recipient_id;requested_amount;submitted_on;\n"
                      f"{f.phase_id};{ids[0]};10,00;02.03.2020;oops\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("phase_id,recipient_id,requested_amount,submitted_on\n")

    refused = CliRunner().invoke(app, ["import", str(beyond)])
    nothing = CliRunner().invoke(app, ["import", str(empty)])

    assert refused.exit_code == 1 and "line 2" in refused.output
    assert '"oops" in a column without a name' in refused.output
    assert nothing.exit_code == 1 and "no rows" in nothing.output
    assert "of 0" not in nothing.output
    assert _head(store) == before


def test_a_measures_amount_is_refused_where_the_requested_amount_would_be(
        store: str, tmp_path: Path) -> None:
    """`1.000` in a `;` file is 1,000 or 1.00: ambiguous for a measure as for the request
    (it was stored as 1.00); with more than two decimals in a `,` file, not an amount."""
    f, ids, before = _setup(store)
    semicolon = tmp_path / "semicolon.csv"
    measures = '"[{""category"": ""website"", ""description"": ""x"", ""amount"": ""1.000""}]"'
    semicolon.write_text("phase_id;recipient_id;requested_amount;submitted_on;measures\n"
                         f"{f.phase_id};{ids[0]};1000,00;02.03.2020;{measures}\n")
    comma = tmp_path / "comma.csv"
    comma.write_text("phase_id,recipient_id,requested_amount,submitted_on,measures\n"
                     f"{f.phase_id},{ids[0]},1000.00,2020-03-02,{measures}\n")

    ambiguous = CliRunner().invoke(app, ["import", str(semicolon)])
    precise = CliRunner().invoke(app, ["import", str(comma)])

    assert ambiguous.exit_code == 1 and precise.exit_code == 1
    assert 'line 2: measures[0].amount: "1.000" is ambiguous' in ambiguous.output
    assert 'line 2: measures[0].amount: "1.000" is not an amount' in precise.output
    assert _head(store) == before


def test_every_bad_row_is_reported_at_once_and_nothing_is_written(
    store: str, tmp_path: Path,
) -> None:
    f, ids, before = _setup(store)
    path = tmp_path / "bad.csv"
    path.write_text(
        "phase_id,recipient_id,requested_amount,submitted_on,reference\n"
        f"{f.phase_id},{ids[0]},1000.00,2020-03-01,R-1\n"   # 2: good
        f"{f.phase_id},{ids[1]},40.000,00,2020-03-01,R-2\n"  # 3: a cell too many
        f"{f.phase_id},{ids[1]},1e3,2020-03-01,R-3\n"        # 4: not an amount
        f"{f.phase_id},{ids[2]},10.00,01/02/2020,R-4\n"      # 5: not a date
        "\n"                                                 # 6: blank, skipped
        f"{f.phase_id},nobody,10.00,2020-03-01,R-5\n"        # 7: unknown recipient
        f"{f.phase_id},{ids[0]},10.00,2020-03-01,R-1\n"      # 8: duplicate, reference again
    )

    result = CliRunner().invoke(app, ["import", str(path)])

    output = result.output
    assert result.exit_code == 1
    assert "nothing written" in output and "5 bad line(s) of 7" in output
    for line, words in ((3, "cells where the header has 5"), (4, '"1e3" is not an amount'),
                        (5, '"01/02/2020" is not a date'), (7, "not_found"),
                        (8, "duplicate_application"), (8, "duplicate_reference")):
        assert any(text.startswith(f"line {line}: ") and words in text
                   for text in output.splitlines()), (line, words, output)
    assert "line 2:" not in output and "line 6:" not in output
    assert _head(store) == before


def test_an_ambiguous_amount_in_a_semicolon_file_is_refused(store: str, tmp_path: Path
                                                             ) -> None:
    f, ids, _ = _setup(store, 1)
    path = tmp_path / "ambiguous.csv"
    path.write_text("phase_id;recipient_id;requested_amount;submitted_on\n"
                    f"{f.phase_id};{ids[0]};10.555;2020-03-01\n")

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert 'line 2: requested_amount: "10.555" is ambiguous' in result.output


def test_a_file_that_is_not_utf8_names_its_line(store: str, tmp_path: Path) -> None:
    f, ids, _ = _setup(store, 1)
    path = tmp_path / "latin1.csv"
    path.write_bytes("phase_id;recipient_id;requested_amount;submitted_on;reference\n"
                     f"{f.phase_id};{ids[0]};10,00;2020-03-01;Groß-Gerau\n".encode("latin-1"))

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1 and "line 2: the file is not UTF-8" in result.output


def test_wrong_columns_are_named(store: str, tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    path.write_text("phase;recipient_id;requested_amount;submitted_on\nx;y;1,00;2020-01-01\n")

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "line 1: columns: missing phase_id, unknown phase" in result.output


def test_a_long_file_moves_a_progress_bar(store: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    f, ids, _ = _setup(store, 3)
    path = tmp_path / "long.csv"
    path.write_text("phase_id,recipient_id,requested_amount,submitted_on\n" + "".join(
        f"{f.phase_id},{rid},10.00,2020-03-01\n" for rid in ids))
    advanced: list[int] = []
    monkeypatch.setattr(import_rows, "PROGRESS_FROM", 2)
    import rich.progress

    original = rich.progress.Progress.advance
    monkeypatch.setattr(rich.progress.Progress, "advance",
                        lambda self, task, n=1: (advanced.append(n), original(self, task, n)))

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 0, result.output
    assert sum(advanced) == 6  # three rows read, three checked


def _submitted(store: str, f: Funded, recipient_id: str, reference: str) -> None:
    ledger = build_ledger(Settings(database_url=store))
    try:
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=recipient_id,
                                  requested_amount=money("10.00"),
                                  submitted_on=date(2020, 3, 1), reference=reference)
    finally:
        ledger.close()


def test_a_reference_used_in_the_programme_is_named_by_its_line_with_the_other_bad_rows(
    store: str, tmp_path: Path,
) -> None:
    f, ids, _ = _setup(store, 4)
    _submitted(store, f, ids[0], "SHH-D-2020-422")
    before = _head(store)
    path = tmp_path / "used.csv"
    path.write_text(
        "phase_id,recipient_id,requested_amount,submitted_on,reference\n"
        f"{f.phase_id},{ids[1]},10.00,2020-03-01,shh-d-2020-422\n"  # 2: used (any case)
        f"{f.phase_id},{ids[2]},10.00,2020-03-01,SHH-D-2020-423\n"  # 3: good
        f"{f.phase_id},{ids[3]},1e3,2020-03-01,SHH-D-2020-424\n"    # 4: not an amount
        f"{f.phase_id},nobody,10.00,2020-03-01,SHH-D-2020-425\n"    # 5: unknown recipient
    )

    result = CliRunner().invoke(app, ["import", str(path)])

    output = result.output
    assert result.exit_code == 1
    assert "nothing written" in output and "3 bad line(s) of 4" in output
    for line, words in ((2, "duplicate_reference"), (2, "shh-d-2020-422"),
                        (4, '"1e3" is not an amount'), (5, "not_found")):
        assert any(text.startswith(f"line {line}: ") and words in text
                   for text in output.splitlines()), (line, words, output)
    assert "line 3:" not in output
    assert _head(store) == before


def test_a_row_refused_at_the_save_is_still_named_by_its_line(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A concurrent writer that takes a reference between the check and the save: the
    save refuses the whole import, and names the row's line too."""
    f, ids, _ = _setup(store, 3)
    path = tmp_path / "raced.csv"
    path.write_text("phase_id,recipient_id,requested_amount,submitted_on,reference\n"
                    f"{f.phase_id},{ids[0]},10.00,2020-03-01,AZ-1\n"
                    f"{f.phase_id},{ids[1]},10.00,2020-03-01,AZ-2\n")
    checked = import_rows.checked_rows
    raced: list[int] = []

    def checked_then_raced(*args: Any, **kwargs: Any) -> Any:
        rows = checked(*args, **kwargs)
        _submitted(store, f, ids[2], "AZ-2")
        raced.append(_head(store))
        return rows

    monkeypatch.setattr(import_rows, "checked_rows", checked_then_raced)

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "nothing written" in result.output
    assert any(text.startswith("line 3: duplicate_reference")
               for text in result.output.splitlines()), result.output
    assert "line 2:" not in result.output
    assert raced and _head(store) == raced[0]


def test_a_date_outside_the_business_dates_is_named_by_its_line(
    store: str, tmp_path: Path,
) -> None:
    f, ids, before = _setup(store, 2)
    path = tmp_path / "old.csv"
    path.write_text("phase_id;recipient_id;requested_amount;submitted_on\n"
                    f"{f.phase_id};{ids[0]};10,00;01.03.2020\n"
                    f"{f.phase_id};{ids[1]};10,00;01.03.1980\n")

    result = CliRunner().invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "line 3: validation: submitted_on: 1980-03-01 is outside the business dates" \
        in result.output, result.output
    assert _head(store) == before
