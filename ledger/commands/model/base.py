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
        """SHA-256 over the command's name, the user and every field, canonically."""
        body = orjson.dumps(
            {"command": self.COMMAND, "user": user, "request": dataclasses.asdict(self)},
            option=orjson.OPT_SORT_KEYS,
            default=str,
        )
        return hashlib.sha256(body).hexdigest()
