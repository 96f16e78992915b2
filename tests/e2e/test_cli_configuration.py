"""A `LEDGER_*` variable the ledger cannot use stops every command with one line per
variable and exit 78 (EX_CONFIG): never a traceback, never a store created."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts.cli import app
from scripts.configuration import CONFIG_ERROR

COMMANDS = [
    ["head"],
    ["verify"],
    ["replay"],
    ["serve"],
    ["demo", "--no-serve"],
    ["import", "rows.csv"],
    ["report", "phase-totals", "2020-1"],
    ["export", "--format", "360giving"],
    ["keys", "add", "someone", "--role", "clerk"],
]

# Each refused, and the words that must name why (the variable and its value).
BAD = {
    "LEDGER_DATABASE_URL": ("mysql://x/y", "unsupported LEDGER_DATABASE_URL 'mysql://x/y'"),
    "LEDGER_LOG_FORMAT": ("xml", "LEDGER_LOG_FORMAT='xml': Input should be 'console' or 'json'"),
    "LEDGER_PROJECTION_MAX_LAG": ("abc", "LEDGER_PROJECTION_MAX_LAG='abc'"),
    "LEDGER_EARLIEST_BUSINESS_DATE": ("yesterday", "LEDGER_EARLIEST_BUSINESS_DATE='yesterday'"),
    "LEDGER_RATE_LIMIT": ("bogus", "LEDGER_RATE_LIMIT='bogus'"),
    "LEDGER_BUSINESS_YEARS_AHEAD": ("-x", "LEDGER_BUSINESS_YEARS_AHEAD='-x'"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_names_each_variable_it_cannot_use(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.csv").write_text("recipient_id\n", encoding="utf-8")
    for name, (value, _) in BAD.items():
        monkeypatch.setenv(name, value)

    answer = CliRunner().invoke(app, command)

    assert answer.exit_code == CONFIG_ERROR, answer.output
    lines = answer.output.strip().splitlines()
    assert len(lines) == len(BAD)
    for _, named in BAD.values():
        assert any(line.startswith("error: ") and named in line for line in lines), named
    assert "Traceback" not in answer.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]  # nothing made


def test_one_bad_variable_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("LEDGER_PROJECTION_MAX_LAG", "0")

    answer = CliRunner().invoke(app, ["head"])

    assert answer.exit_code == CONFIG_ERROR
    assert answer.output == ("error: LEDGER_PROJECTION_MAX_LAG='0': Input should be greater "
                             "than or equal to 1\n")
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize(("content", "why"), [
    (None, "No such file or directory"),
    ("not json", "not JSON (Expecting value: line 1 column 1 (char 0))"),
    ('{"keys": [{"key": "short", "user": "u", "roles": ["clerk"]}]}',
     "keys.0.key: String should have at least 16 characters"),
], ids=["missing", "not-json", "short-key"])
def test_serve_refuses_a_keys_file_it_cannot_use_in_one_line(
        content: str | None, why: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.json"
    if content is not None:
        keys.write_text(content, encoding="utf-8")
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(keys))

    answer = CliRunner().invoke(app, ["serve", "--port", "1"])  # (refused before binding)

    assert answer.exit_code == CONFIG_ERROR
    assert answer.output == f"error: LEDGER_API_KEYS_FILE {keys}: {why}\n"


def test_keys_are_not_written_into_a_directory_that_does_not_exist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    nowhere = tmp_path / "missing" / "keys.json"

    added = CliRunner().invoke(app, ["keys", "add", "u", "--role", "clerk",
                                     "--keys-file", str(nowhere)])
    demo = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", str(nowhere)])

    expected = f"error: {nowhere}: cannot write it (no directory {nowhere.parent})\n"
    assert (added.exit_code, added.output) == (1, expected)
    assert (demo.exit_code, demo.output) == (2, expected)
    assert not (tmp_path / "ledger.db").exists()  # refused before the demo loaded anything


def test_the_bench_reads_the_environment_as_every_command_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_LOG_FORMAT", "xml")

    answer = CliRunner().invoke(app, ["bench", "--events", "10", "--no-http",
                                      "--database-name", "never_made"])

    assert answer.exit_code == CONFIG_ERROR  # refused before its database is made
    assert "error: LEDGER_LOG_FORMAT='xml': Input should be 'console' or 'json'" in answer.output
    assert "Traceback" not in answer.output


def test_a_password_in_a_url_is_never_printed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://u:s3cret@127.0.0.1:99999/db")

    answer = CliRunner().invoke(app, ["head"])

    assert answer.exit_code == CONFIG_ERROR
    assert "s3cret" not in answer.output
    assert "postgresql://u:***@127.0.0.1:99999/db" in answer.output


@pytest.mark.parametrize("schema", ["MixedCase", "1st", "with-dash", "x" * 64])
def test_a_schema_the_read_side_could_not_name_is_refused(
        schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read side puts the schema unquoted on its search_path, where PostgreSQL folds it
    to lower case: a "MixedCase" schema was made by the log's side, then missed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"postgresql://postgres@127.0.0.1/x?schema={schema}")

    answer = CliRunner().invoke(app, ["demo", "--no-serve"])

    assert answer.exit_code == CONFIG_ERROR
    assert f"?schema={schema}: a schema name of lower-case letters" in answer.output
