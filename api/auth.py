"""API keys (SPEC §6): a JSON file {"keys": [{"key", "user", "roles"}]} read at startup.

An entry may hold `key_sha256` (the hex SHA-256 of the key) instead of `key`: the file then
holds nothing a reader could present. `ledger keys add` writes such entries; the file is
created with mode 0600 and replaced whole, never left half-written or readable by others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Role = Literal["admin", "clerk", "approver", "finance", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "clerk", "approver", "finance", "auditor")


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, min_length=16)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    user: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_key(self) -> KeyEntry:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError(f"entry of {self.user}: give either key or key_sha256")
        return self

    @property
    def digest(self) -> str:
        return self.key_sha256 if self.key is None else digest(self.key)  # type: ignore[return-value]  # one is set (_one_key)


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry]

    @model_validator(mode="after")
    def _keys_are_unique(self) -> KeysFile:
        # Merging them silently would let the last entry decide who the key is.
        seen: dict[str, int] = {}
        for n, entry in enumerate(self.keys):
            first = seen.setdefault(entry.digest, n)
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
    """Holds keys only as SHA-256 digests, and compares a presented key's digest with every
    one of them in constant time: how long a refusal takes reveals nothing about any key."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._digests = [(entry.digest.encode(), Principal(entry.user, frozenset(entry.roles)))
                         for entry in entries]

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
        except OSError as exc:
            raise ValueError(f"LEDGER_API_KEYS_FILE {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"LEDGER_API_KEYS_FILE {path}: not JSON ({exc})") from exc
        except ValidationError as exc:
            found = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: " * bool(e["loc"])
                + str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise ValueError(f"LEDGER_API_KEYS_FILE {path}: {found}") from exc

    def authenticate(self, key: str) -> Principal | None:
        presented = digest(key).encode()
        found = None
        for known, principal in self._digests:  # no early exit: the same work for every key
            if hmac.compare_digest(presented, known):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._digests)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return f"pl_{secrets.token_urlsafe(32)}"


def write_keys_file(path: Path, entries: list[dict[str, object]]) -> None:
    """Replaces `path` with `entries`, through a file created 0600 beside it (mkstemp opens
    with O_EXCL and mode 0600): no moment where the keys are readable by others."""
    path = Path(path)
    check_writable(path)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.",
                                                 dir=path.parent or ".")
    except OSError as exc:
        raise ValueError(f"{path}: cannot write it ({exc.strerror})") from exc
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(json.dumps({"keys": entries}, indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_writable(path: Path) -> None:
    """ValueError unless a keys file can be written at `path`: its directory exists and
    may be written to (checked before a command does its work, not after)."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise ValueError(f"{path}: cannot write it (no directory {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: cannot write it (directory {folder} is not writable)")


def read_keys_file(path: Path, *, adding: list[dict[str, object]] | None = None
                   ) -> list[dict[str, object]]:
    """The entries of the keys file at `path` as stored (none if it is missing), then
    `adding`: a list to rewrite the file with. Raises ValueError, before anything is
    rewritten, when the file or the combined entries are not a valid keys file."""
    path = Path(path)
    entries: list[dict[str, object]] = []
    try:
        if path.exists():  # the entries already there stay as they are, in their order
            entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
        entries = [*entries, *(adding or [])]
        KeysFile.model_validate({"keys": entries})
    except (OSError, KeyError, TypeError, json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return entries


def add_key(path: Path, *, user: str, roles: list[str]) -> str:
    """Adds a new key for `user` to the keys file (created if missing) and returns it;
    the file keeps only its SHA-256. Raises ValueError for an invalid file or entry."""
    key = new_key()
    entries = read_keys_file(path, adding=[{"key_sha256": digest(key), "user": user,
                                            "roles": roles}])
    write_keys_file(path, entries)
    return key
