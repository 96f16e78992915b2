"""`ledger --version`, and no half-made database left behind by a failed command."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scripts.demo_data
from scripts.cli import app


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The path of a SQLite store that does not exist yet, configured for the CLI."""
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


def test_version_prints_the_installed_version() -> None:
    answer = CliRunner().invoke(app, ["--version"])

    assert answer.exit_code == 0
    assert version("program-ledger") in answer.output


def test_failed_demo_removes_the_database_it_created(
    fresh_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(scripts.demo_data, "load_2020_scenario", broken)

    answer = CliRunner().invoke(app, ["demo", "--no-serve"])

    assert answer.exit_code != 0
    assert isinstance(answer.exception, OSError)
    assert list(fresh_sqlite.parent.glob("fresh.db*")) == []


def test_failed_report_on_a_missing_database_leaves_no_file(fresh_sqlite: Path) -> None:
    answer = CliRunner().invoke(app, ["report", "phase-totals", "2020-1"])

    assert answer.exit_code == 1
    assert list(fresh_sqlite.parent.glob("fresh.db*")) == []


def test_failed_report_keeps_a_database_that_existed(fresh_sqlite: Path) -> None:
    CliRunner().invoke(app, ["head"])
    assert fresh_sqlite.exists()

    answer = CliRunner().invoke(app, ["report", "phase-totals", "no-such-phase"])

    assert answer.exit_code == 1
    assert fresh_sqlite.exists()
