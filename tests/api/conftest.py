"""An API client per store, with a keys file holding one user per role (and a second
clerk, approver and finance user for four eyes)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ledger import Settings

USERS: dict[str, list[str]] = {
    "ada": ["admin"],
    "clara": ["clerk"],
    "carl": ["clerk"],
    "anna": ["approver"],
    "arne": ["approver"],
    "fritz": ["finance"],
    "frieda": ["finance"],
    "ida": ["auditor"],
    "root": ["admin", "clerk", "approver", "finance", "auditor"],
}


def key_of(user: str) -> str:
    return f"test-key-{user}-0123456789"


def auth(user: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_of(user)}", **headers}


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [
        {"key": key_of(user), "user": user, "roles": roles} for user, roles in USERS.items()
    ]}))
    return path


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(keys_file: Path) -> Iterator[ClientFactory]:
    clients: list[TestClient] = []

    def make(database_url: str, *, read_models: Callable[..., Any] | None = None) -> TestClient:
        """A client on the real read side, unless `read_models` builds another."""
        settings = Settings(database_url=database_url, api_keys_file=keys_file)
        # The integrity keeper stays off: tests that tamper with rows decide when the
        # checkpoint moves (tests/unit/test_integrity_keeper.py tests the keeper).
        client = TestClient(create_app(settings, read_models_factory=read_models,
                                       keep_integrity=False),
                            raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(sql_database_url: str, make_client: ClientFactory) -> TestClient:
    """A client on SQLite and on PostgreSQL (the store outlives the client)."""
    return make_client(sql_database_url)


@pytest.fixture
def memory_client(make_client: ClientFactory) -> TestClient:
    return make_client("memory://")


def suffix() -> str:
    return uuid.uuid4().hex[:8]
