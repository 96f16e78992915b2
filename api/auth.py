"""API keys (SPEC §6): a JSON file {"keys": [{"key", "user", "roles"}]} read at startup."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Role = Literal["admin", "clerk", "approver", "finance", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "clerk", "approver", "finance", "auditor")


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=16)
    user: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1)


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry]

    @model_validator(mode="after")
    def _keys_are_unique(self) -> KeysFile:
        # Merging them silently would let the last entry decide who the key is.
        seen: dict[str, int] = {}
        for n, entry in enumerate(self.keys):
            first = seen.setdefault(entry.key, n)
            if first != n:
                raise ValueError(
                    f"keys {first} ({self.keys[first].user}) and {n} ({entry.user}) hold "
                    "the same key string; give every entry its own key")
        return self


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: who they are and which roles they hold."""

    user: str
    roles: frozenset[str]


class ApiKeys:
    """Looks keys up by their SHA-256, so the table never holds the keys themselves."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._by_digest = {
            _digest(entry.key): Principal(entry.user, frozenset(entry.roles))
            for entry in entries
        }

    @classmethod
    def load(cls, path: Path | None) -> ApiKeys:
        """Reads the keys file; no file means no key is valid (every request gets 401).

        Raises ValueError when the file exists but is not a valid keys file, or two
        entries hold the same key string.
        """
        if path is None:
            return cls([])
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(KeysFile.model_validate(data).keys)
        except (OSError, json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"LEDGER_API_KEYS_FILE {path}: {exc}") from exc

    def authenticate(self, key: str) -> Principal | None:
        # Comparing digests, not keys: lookup time reveals nothing about a valid key.
        return self._by_digest.get(_digest(key))

    def __len__(self) -> int:
        return len(self._by_digest)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
