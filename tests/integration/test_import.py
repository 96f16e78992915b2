"""`ledger import` as people use it (issue 10): `,` or `;` files, with or without a BOM,
German amounts and dates in `;` files, every bad row reported at once, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from projections.read_models import build_read_models
from scripts import import_rows
from scripts.cli import app
from tests.support.scenario import Funded, funded_phase, recipients


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
