"""Keys handled like secrets (issue 10): hashes in the keys file, `ledger keys add`,
constant-time comparison, never logged, the demo's file 0600 from its creation."""

from __future__ import annotations

import hmac
import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api import auth, middleware
from api.auth import ApiKeys, KeyEntry, digest
from scripts.cli import app
from scripts.serve_commands import write_demo_keys
from tests.api.conftest import ClientFactory, key_of


def _hashed(keys_file: Path) -> None:
    entries = json.loads(keys_file.read_text())["keys"]
    keys_file.write_text(json.dumps({"keys": [
        {"key_sha256": digest(e["key"]), "user": e["user"], "roles": e["roles"]}
        for e in entries]}))


def test_a_keys_file_of_hashes_authenticates_the_keys(
    sql_database_url: str, keys_file: Path, make_client: ClientFactory,
) -> None:
    _hashed(keys_file)
    client = make_client(sql_database_url)

    known = client.get("/whoami", headers={"Authorization": f"Bearer {key_of('ida')}"})
    hash_as_key = client.get("/whoami", headers={
        "Authorization": f"Bearer {digest(key_of('ida'))}"})

    assert known.status_code == 200 and known.json()["user"] == "ida"
    assert hash_as_key.status_code == 401


def test_keys_add_prints_the_key_once_and_stores_only_its_hash(
    tmp_path: Path, make_client: ClientFactory, keys_file: Path,
) -> None:
    path = tmp_path / "new-keys.json"

    first = CliRunner().invoke(app, ["keys", "add", "olga", "--role", "auditor",
                                     "--keys-file", str(path)])
    second = CliRunner().invoke(app, ["keys", "add", "otto", "-r", "clerk", "-r", "finance",
                                      "--keys-file", str(path)])

    key = first.stdout.strip().splitlines()[-1]
    stored = json.loads(path.read_text())["keys"]
    assert first.exit_code == 0 and second.exit_code == 0
    assert key not in path.read_text()
    assert stored[0] == {"key_sha256": digest(key), "user": "olga", "roles": ["auditor"]}
    assert stored[1]["roles"] == ["clerk", "finance"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "restart it for the key to work" in first.stderr  # read when the server starts
    assert ApiKeys.load(path).authenticate(key) == auth.Principal("olga",
                                                                   frozenset({"auditor"}))


def test_keys_add_refuses_an_unknown_role_and_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    bad_role = CliRunner().invoke(app, ["keys", "add", "x", "--role", "wizard",
                                        "--keys-file", str(tmp_path / "k.json")])
    bad_file = CliRunner().invoke(app, ["keys", "add", "x", "--role", "clerk",
                                        "--keys-file", str(broken)])

    assert bad_role.exit_code == 2 and not (tmp_path / "k.json").exists()
    assert bad_file.exit_code == 1 and broken.read_text() == "{not json"


def test_an_entry_holds_a_key_or_its_hash_not_both() -> None:
    with pytest.raises(ValueError, match="either key or key_sha256"):
        KeyEntry(key="k" * 16, key_sha256="0" * 64, user="u", roles=["clerk"])


def test_every_known_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    keys = ApiKeys([KeyEntry(key=f"key-number-{n}-0123456789", user=f"u{n}", roles=["clerk"])
                    for n in range(5)])

    found = keys.authenticate("key-number-0-0123456789")

    assert found is not None and found.user == "u0"
    assert len(compared) == 5  # no early exit on the first match


class _Recorder:
    """Stands in for a structlog logger: keeps every event and its fields."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []

    def __getattr__(self, level: str):  # type: ignore[no-untyped-def]
        return lambda event, **fields: self.events.append({"event": event, **fields})


def test_a_key_is_never_logged(memory_client, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
                               ) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(middleware, "access_log", recorder)

    memory_client.get("/whoami", headers={"Authorization": f"Bearer {key_of('ida')}"})
    memory_client.get("/whoami", headers={"Authorization": "Bearer wrong-key-0123456789"})

    text = json.dumps(recorder.events, default=str)
    assert [e["user"] for e in recorder.events] == ["ida", None]
    assert key_of("ida") not in text and "wrong-key-0123456789" not in text


def test_the_demo_keys_file_is_private_from_its_creation(tmp_path: Path) -> None:
    path = tmp_path / "demo-keys.json"
    old = os.umask(0)  # a permissive umask would show a file created readable, then chmod-ed
    try:
        keys = write_demo_keys(path)
    finally:
        os.umask(old)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(entry["key"] not in path.read_text() for entry in keys)
    assert ApiKeys.load(path).authenticate(str(keys[0]["key"])) is not None
