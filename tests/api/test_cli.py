"""`ledger demo --no-serve` and `ledger import`, through the typer app."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from scripts.cli import app
from tests.support.scenario import funded_phase, recipients


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    return url


def test_import_is_all_or_nothing(store: str, tmp_path: Path) -> None:
    ledger = build_ledger(Settings(database_url=store))
    f = funded_phase(ledger)
    ids = recipients(ledger, 3)
    before = ledger.head()[0]
    ledger.close()
    good = tmp_path / "good.csv"
    bad = tmp_path / "bad.csv"
    header = "phase_id,recipient_id,requested_amount,submitted_on,reference\n"
    good.write_text(header + "".join(
        f"{f.phase_id},{rid},1000.00,2020-03-01,R{n}\n" for n, rid in enumerate(ids[:2])))
    bad.write_text(header + f"{f.phase_id},{ids[2]},5.00,2020-03-01,\n"
                   f"{f.phase_id},{ids[2]},5.00,2020-03-02,\n")

    refused = CliRunner().invoke(app, ["import", str(bad)])
    after_refusal = build_ledger(Settings(database_url=store))
    unchanged = after_refusal.head()[0]
    after_refusal.close()
    imported = CliRunner().invoke(app, ["import", str(good)])

    assert refused.exit_code == 1 and "duplicate_application" in refused.output
    assert unchanged == before
    assert imported.exit_code == 0, imported.output
    assert "imported 2 applications" in imported.output


def test_import_names_the_bad_line(store: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("phase_id,recipient_id,requested_amount,submitted_on\nx,y,1.005,2020-01-01\n")

    result = CliRunner().invoke(app, ["import", str(bad)])

    assert result.exit_code == 1
    assert "line 2" in result.output


def test_an_import_refused_into_a_store_it_made_leaves_none(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A mistyped store is not left behind as an empty ledger that `head` and `verify`
    then read as verified."""
    store = tmp_path / "fresh.db"
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{store}")
    rows = tmp_path / "rows.csv"
    rows.write_text("phase_id,recipient_id,requested_amount,submitted_on\n"
                    "nowhere,r1,10.00,2020-03-01\n")

    result = CliRunner().invoke(app, ["import", str(rows)])

    assert result.exit_code == 1, result.output
    assert "nothing written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_demo_loads_scenario_and_writes_keys(store: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"

    result = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", str(keys)])

    assert result.exit_code == 0, result.output
    entries = json.loads(keys.read_text())["keys"]
    roles = [e["roles"][0] for e in entries]
    assert set(roles) == {"admin", "clerk", "approver", "finance", "auditor"}
    assert len(entries) == 8
    printed = {hashlib.sha256(word.encode()).hexdigest()
               for word in result.output.split() if word.startswith("demo-")}
    assert {e["key_sha256"] for e in entries} <= printed  # printed once, stored as hashes
    assert "key" not in {name for e in entries for name in e}
    # Nothing is served, so no URL to try: how to serve it instead.
    assert "http://" not in result.output and "curl" not in result.output
    # the store it loaded, not the default one (an empty ledger.db) the line would serve
    assert result.output.rstrip().endswith(
        f"not serving (--no-serve); to serve it: LEDGER_DATABASE_URL={store} "
        f"LEDGER_API_KEYS_FILE={keys} ledger serve")


def test_the_serve_line_hides_the_stores_password() -> None:
    from scripts.store import shown_url  # as every command that names the store

    assert shown_url("postgresql://ada:s3cret@db:5432/ledger") == (
        "postgresql://ada:***@db:5432/ledger")
    assert shown_url("postgresql://ada@db/ledger") == "postgresql://ada@db/ledger"


def test_demo_without_serving_names_the_address_it_was_given(store: str, tmp_path: Path) -> None:
    keys = tmp_path / "my keys.json"

    result = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", str(keys),
                                      "--host", "0.0.0.0", "--port", "9000"])

    assert result.exit_code == 0, result.output
    assert f"LEDGER_API_KEYS_FILE='{keys}' ledger serve --host 0.0.0.0 --port 9000" \
        in result.output


def test_demo_adds_its_keys_to_the_configured_keys_file_and_keeps_the_others(
        store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.auth import add_key

    keys = tmp_path / "keys.json"
    operator_key = add_key(keys, user="olga", roles=["auditor"])
    monkeypatch.setenv("LEDGER_API_KEYS_FILE", str(keys))

    first = CliRunner().invoke(app, ["demo", "--no-serve"])
    second = CliRunner().invoke(app, ["demo", "--no-serve"])  # the demo's users get new keys

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert f"keys written to {keys}" in second.output and "1 other keys in it kept" in second.output
    entries = json.loads(keys.read_text())["keys"]
    assert [e["user"] for e in entries].count("olga") == 1 and len(entries) == 9
    assert entries[0]["key_sha256"] == hashlib.sha256(operator_key.encode()).hexdigest()
    printed = {hashlib.sha256(word.strip("'").encode()).hexdigest()
               for word in second.output.split() if word.startswith("demo-")}
    assert {e["key_sha256"] for e in entries[1:]} == printed
    assert not Path("ledger-demo-keys.json").exists()


def test_demo_refuses_a_broken_keys_file_before_writing_anything(
        store: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"keys": [{"user": "olga"}]}')

    result = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", str(keys)])

    assert result.exit_code == 2
    assert "is not a keys file" in result.output
    assert keys.read_text() == '{"keys": [{"user": "olga"}]}'
    assert not (tmp_path / "cli.db").exists()
