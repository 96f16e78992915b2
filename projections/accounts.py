"""A programme's accounts page: every account's balance, current, as of a position, and by
business date, with the totals by account kind and the trial balance.

Now, one row per account (`accounts`); as of position n, the account's mark at or before
n plus its few legs after it (projections/balances.py); by business date, the account's
days up to the date (projections/account_days.py). No answer reads all of an account's
legs.
"""

from __future__ import annotations

from typing import Any

from projections import account_days
from projections.balances import ACCOUNT_MARKS, ACCOUNTS
from projections.base import check_limit, decode_cursor, encode_cursor
from projections.events import eur
from projections.grants import ENTRIES
from projections.state import StateQuery
from projections.totals import dated_on, scope_at

Json = dict[str, Any]


def accounts(q: StateQuery, programme_id: str, *, cursor: str | None = None,
             limit: int = 100) -> Json:
    """A page of account balances, with the totals by account kind and the trial balance
    over all of the programme's accounts."""
    limit = check_limit(limit)
    _, base = scope_at(q, "programme", programme_id)
    listed = f"accounts:{programme_id}"  # a cursor pages its own programme's accounts only
    after = decode_cursor(cursor, listed) or ""
    table, marks, entries = ACCOUNTS.name(q.tag), ACCOUNT_MARKS.name(q.tag), ENTRIES.name(q.tag)
    params: list[Any]
    if q.on is not None:  # the account's days up to the date (projections/account_days.py)
        balance, params = account_days.balance_on(q.tag, on=q.on, at=q.at, live=q.live)
        params += [programme_id, after, q.at, limit + 1]
    elif q.at >= q.live:
        balance, params = "a.balance", [programme_id, after, q.at, limit + 1]
    else:  # the mark at or before `at`, plus the account's few legs after it
        mark = (f"SELECT MAX(m.position) FROM {marks} m WHERE m.programme_id = a.programme_id "
                "AND m.account = a.account AND m.position <= ?")
        balance = (
            f"COALESCE((SELECT m.balance FROM {marks} m WHERE m.programme_id = a.programme_id "
            f"AND m.account = a.account AND m.position = ({mark})), 0) + "
            f"COALESCE((SELECT SUM(e.amount) FROM {entries} e WHERE e.programme_id = "
            "a.programme_id AND e.account = a.account AND e.position <= ? "
            f"AND e.position > COALESCE(({mark}), 0)), 0)")
        params = [q.at, q.at, q.at, programme_id, after, q.at, limit + 1]
    rows = q.tx.execute(
        f"SELECT a.account, {balance} FROM {table} a WHERE a.programme_id = ? "
        "AND a.account > ? AND a.first_position <= ? ORDER BY a.account LIMIT ?", params)
    page = [{"account": str(account), "balance": eur(int(value))} for account, value in rows]
    more = len(page) > limit
    kinds = base
    if q.on is not None:
        # The list holds every account that exists at `at`, at 0.00 where it has no leg by
        # the date; `by_kind` names the same kinds: those of the sums at `at` (the sums by
        # date touch only some of them).
        _, kinds = scope_at(StateQuery(q.tx, q.tag, at=q.at, live=q.live, schema=q.schema),
                            "programme", programme_id)
    return {"accounts": page[:limit],
            "by_kind": {key[2:]: eur(base.get(key, 0)) for key in sorted(kinds)
                        if key.startswith("k|")},
            "total": eur(base.get("trial", 0)),
            "next_cursor": encode_cursor(page[limit - 1]["account"], listed) if more else None,
            "position": q.at, **dated_on(q)}
