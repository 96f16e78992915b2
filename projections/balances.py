"""Every account's balance: current, and a mark every `MARK_EVERY` legs of the account.

A balance as of position n is the mark at or before n plus the account's few legs
after it (projections/totals.py `accounts`), so a page of accounts costs the same
however long the log. Written by the grants projection in its batch transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections import figures as fig
from projections.base import Table
from projections.db import Tx, any_of, chunks

MARK_EVERY = 32  # legs of an account between marks

ACCOUNTS = Table(
    "accounts",
    (("programme_id", "TEXT NOT NULL"), ("account", "TEXT NOT NULL"),
     ("account_kind", "TEXT NOT NULL"), ("first_position", "BIGINT NOT NULL"),
     ("position", "BIGINT NOT NULL"), ("pending", "INTEGER NOT NULL"),
     ("balance", "BIGINT NOT NULL")),
    key=("programme_id", "account"),
)
ACCOUNT_MARKS = Table(
    "account_marks",
    (("programme_id", "TEXT NOT NULL"), ("account", "TEXT NOT NULL"),
     ("position", "BIGINT NOT NULL"), ("balance", "BIGINT NOT NULL")),
    key=("programme_id", "account", "position"),
    appended=True,
)
TABLES = (ACCOUNTS, ACCOUNT_MARKS)


class Account:
    __slots__ = ("balance", "first_position", "kind", "pending", "position")

    def __init__(self, kind: str, first_position: int, position: int = 0, pending: int = 0,
                 balance: int = 0) -> None:
        self.kind, self.first_position, self.position = kind, first_position, position
        self.pending, self.balance = pending, balance


def apply_legs(tx: Tx, tag: str, legs: Sequence[fig.Leg]) -> None:
    """Balances per account, with a mark every MARK_EVERY legs (after a whole event)."""
    if not legs:
        return
    accounts = _load(tx, tag, {(leg.programme_id, leg.account) for leg in legs})
    marks: list[tuple[Any, ...]] = []
    touched: list[tuple[str, str]] = []
    for n, leg in enumerate(legs):
        key = (leg.programme_id, leg.account)
        account = accounts.get(key)
        if account is None:
            account = accounts[key] = Account(leg.account_kind, leg.position)
        account.balance += leg.amount
        account.pending += 1
        account.position = leg.position
        touched.append(key)
        if n + 1 == len(legs) or legs[n + 1].position != leg.position:
            for programme_id, name in touched:
                done = accounts[(programme_id, name)]
                if done.pending >= MARK_EVERY:
                    marks.append((programme_id, name, leg.position, done.balance))
                    done.pending = 0
            touched.clear()
    tx.insert_rows(ACCOUNT_MARKS.name(tag), ACCOUNT_MARKS.column_names, marks)
    tx.upsert_rows(ACCOUNTS.name(tag), ACCOUNTS.column_names, "programme_id, account",
                   ("position", "pending", "balance"),
                   [(p, a, acc.kind, acc.first_position, acc.position, acc.pending, acc.balance)
                    for (p, a), acc in accounts.items()])


def _load(tx: Tx, tag: str, keys: set[tuple[str, str]]
                   ) -> dict[tuple[str, str], Account]:
    found: dict[tuple[str, str], Account] = {}
    for programme_id in {p for p, _ in keys}:
        for chunk in chunks(tx, {a for p, a in keys if p == programme_id}):
            condition, params = any_of(tx, "account", chunk)
            for account, kind, first, position, pending, balance in tx.execute(
                "SELECT account, account_kind, first_position, position, pending, balance "
                f"FROM {ACCOUNTS.name(tag)} WHERE programme_id = ? AND {condition}",
                [programme_id, *params],
            ):
                found[(programme_id, str(account))] = Account(
                    str(kind), int(first), int(position), int(pending), int(balance))
    return found
