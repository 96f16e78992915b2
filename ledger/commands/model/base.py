"""The base of every command: its stable name, its field rules and its idempotency
fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from ledger.commands.model.rules import rules_of


def set_field(obj: object, name: str, value: Any) -> None:
    """Sets a field of a frozen command while it normalises itself in __post_init__."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command. `COMMAND` is its stable name (logs, idempotency)."""

    COMMAND: ClassVar[str] = "command"

    def __post_init__(self) -> None:
        """Checks and normalises every field that declares a rule (rules.py), in field
        order, then what spans several fields (`check`)."""
        for name, rule in rules_of(type(self)):
            value = getattr(self, name)
            if value is not None:
                set_field(self, name, rule(value, name))
        self.check()

    def check(self) -> None:
        """Rules across fields, and fields whose rule is the command's own."""

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def fingerprint(self, user: str) -> str:
        """SHA-256 over the command's name, the user and every field, canonically: the
        bytes of `dataclasses.asdict` (tests/unit/test_command_rules.py), without its deep
        copy of every value (a command's values are immutable)."""
        body = orjson.dumps(
            {"command": self.COMMAND, "user": user, "request": _plain(self)},
            option=orjson.OPT_SORT_KEYS,
            default=str,
        )
        return hashlib.sha256(body).hexdigest()


_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a command's values, sharing the leaves."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value
