"""Every account re-derived from the chained events, for `ledger verify` (issue 9, finding 2).

The write side keeps the ≥0 accounts (SPEC §3) non-negative by its guards; this
fold does not trust them, nor any snapshot or projection: it sums the postings of
the chained events in log order and names each ≥0 account that stood below zero
after a write (events recorded at one time are one write), and where it first did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application

from ledger.money import must_stay_non_negative
from ledger.persistence.chain import ChainedRecorder
from ledger.persistence.log import LogRecord, plain_decoder

_PAGE = 5000


@dataclass(frozen=True)
class NegativeAccount:
    account: str
    balance: Decimal  # the lowest it stood at after a write
    first_position: int  # the write that first took it below zero


@dataclass
class AccountsReport:
    events: int = 0
    accounts: int = 0
    negative: list[NegativeAccount] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.negative


def rederive_accounts(
    app: Application[Any], *, progress: Callable[[int], None] | None = None
) -> AccountsReport:
    recorder: ChainedRecorder = app.recorder  # type: ignore[assignment]  # the ledger's recorders are chained
    decode = plain_decoder(app)
    balances: dict[str, Decimal] = {}
    lowest: dict[str, tuple[Decimal, int]] = {}
    touched: set[str] = set()
    report = AccountsReport()
    write: tuple[str, int] | None = None  # recorded_at and position of the write being summed

    def close_write() -> None:
        if write is None:
            return
        for account in touched:
            balance = balances[account]
            if balance < 0 and must_stay_non_negative(account):
                low, first = lowest.get(account, (balance, write[1]))
                lowest[account] = (min(low, balance), first)
        touched.clear()

    after = 0
    while records := recorder.read_log(after=after, limit=_PAGE):
        for record in records:
            if write is None or record.recorded_at != write[0]:
                close_write()
                write = (record.recorded_at, record.position)
            _post(record, decode, balances, touched)
            report.events += 1
        after = records[-1].position
        if progress is not None:
            progress(after)
    close_write()
    report.accounts = len(balances)
    report.negative = [NegativeAccount(account, low, first)
                       for account, (low, first) in sorted(lowest.items())]
    return report


def _post(record: LogRecord, decode: Callable[[LogRecord], dict[str, Any]],
          balances: dict[str, Decimal], touched: set[str]) -> None:
    if b"postings" not in record.state:  # most events move no money: skip the decode
        return
    for posting in decode(record).get("postings") or ():
        amount = Decimal(posting["amount"])
        for account, change in ((posting["source"], -amount), (posting["target"], amount)):
            balances[account] = balances.get(account, Decimal(0)) + change
            touched.add(account)
