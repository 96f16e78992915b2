"""Account balances by business date: each account's legs summed per effective date.

The same treatment as the scopes' figures (projections/days.py), for accounts: a
leg has one effective date, so an account's balance "effective on or before d" is
the sum of its days up to d. Per account and day:

- `account_days`: the day's sum of legs now (one row per account and effective date);
- `account_day_history`: the day's sum after each event that changed it (one row per
  event and account-day).

A balance by business date then reads the account's days up to d (one index range,
within the index seek of the account): now, each day as it is; as of position n, a
day last changed at or before n as it is and a day changed since as its history row at
or before n (one index seek each). The cost grows with the business days of one
account, never with its legs or the log. Written by the grants projection in its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections import figures as fig
from projections.base import Table
from projections.db import Tx, chunks

COLUMNS = (("programme_id", "TEXT NOT NULL"), ("account", "TEXT NOT NULL"),
           ("day", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
           ("balance", "BIGINT NOT NULL"))
ACCOUNT_DAYS = Table("account_days", COLUMNS, key=("programme_id", "account", "day"))
ACCOUNT_DAY_HISTORY = Table("account_day_history", COLUMNS,
                            key=("programme_id", "account", "day", "position"), appended=True)
TABLES = (ACCOUNT_DAYS, ACCOUNT_DAY_HISTORY)

DayKey = tuple[str, str, str]  # (programme_id, account, effective date)


def apply_legs(tx: Tx, tag: str, legs: Sequence[fig.Leg]) -> None:
    """Add each event's legs to their account-days, and keep each day's sum after it."""
    if not legs:
        return
    days = _load(tx, tag, {(leg.programme_id, leg.account, leg.effective_date)
                           for leg in legs})
    history: dict[tuple[str, str, str, int], int] = {}  # one row per event and day
    for leg in legs:
        key = (leg.programme_id, leg.account, leg.effective_date)
        balance = days[key][1]
        days[key] = (leg.position, balance + leg.amount)
        history[(*key, leg.position)] = balance + leg.amount
    tx.insert_rows(ACCOUNT_DAY_HISTORY.name(tag), ACCOUNT_DAY_HISTORY.column_names,
                   [(p, a, d, position, balance)
                    for (p, a, d, position), balance in history.items()])
    tx.upsert_rows(ACCOUNT_DAYS.name(tag), ACCOUNT_DAYS.column_names,
                   "programme_id, account, day", ("position", "balance"),
                   [(p, a, d, position, balance)
                    for (p, a, d), (position, balance) in days.items()])


def _load(tx: Tx, tag: str, keys: set[DayKey]) -> dict[DayKey, tuple[int, int]]:
    """The (position, balance) of each account-day in `keys` (0, 0 where it is new), read
    by its primary key: a join with the keys on PostgreSQL, row values on SQLite."""
    found = dict.fromkeys(keys, (0, 0))
    table = ACCOUNT_DAYS.name(tag)
    for programme_id in {p for p, _, _ in keys}:
        for chunk in chunks(tx, {(a, d) for p, a, d in keys if p == programme_id}):
            if tx.dialect == "postgresql":
                rows = tx.execute(
                    f"SELECT t.account, t.day, t.position, t.balance FROM {table} t "
                    "JOIN unnest(?::text[], ?::text[]) AS k(account, day) "
                    "ON t.account = k.account AND t.day = k.day WHERE t.programme_id = ?",
                    [[a for a, _ in chunk], [d for _, d in chunk], programme_id])
            else:
                pairs = ", ".join("(?, ?)" for _ in chunk)
                rows = tx.execute(
                    f"SELECT account, day, position, balance FROM {table} "
                    f"WHERE programme_id = ? AND (account, day) IN (VALUES {pairs})",
                    [programme_id, *(v for pair in chunk for v in pair)])
            for account, day, position, balance in rows:
                found[(programme_id, str(account), str(day))] = (int(position), int(balance))
    return found


def balance_on(tag: str, *, on: str, at: int, live: int) -> tuple[str, list[Any]]:
    """An SQL expression and its parameters: the balance of the account `a` (a row of
    `accounts`) from its legs effective on or before `on`, as of position `at`."""
    days, history = ACCOUNT_DAYS.name(tag), ACCOUNT_DAY_HISTORY.name(tag)
    value: str = "d.balance"
    params: list[Any] = [on]
    if at < live:  # a day changed since: its sum after its last change at or before `at`
        value = ("CASE WHEN d.position <= ? THEN d.balance ELSE (SELECT h.balance FROM "
                 f"{history} h WHERE h.programme_id = d.programme_id AND h.account = d.account "
                 "AND h.day = d.day AND h.position <= ? ORDER BY h.position DESC LIMIT 1) END")
        params = [at, at, on]
    return (f"COALESCE((SELECT SUM({value}) FROM {days} d WHERE d.programme_id = "
            "a.programme_id AND d.account = a.account AND d.day <= ?), 0)"), params
