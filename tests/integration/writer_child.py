"""A process that races commands through its own Ledger (tests/integration/test_writer.py).

`approve URL APP_ID...`: one thread per application approves it for 150.00 and
prints `ok ID` or `refused CODE ID`. `submit URL PHASE RECIPIENT...`: 8 threads
submit one application per recipient, printing `ack APPLICATION_ID RECIPIENT`
after each answer (the parent kills the process mid-burst).
"""

from __future__ import annotations

import sys
import threading
from datetime import date
from decimal import Decimal

from ledger import Actor, Money, Settings, build_ledger
from ledger.commands import ApproveApplication, SubmitApplication
from ledger.errors import LedgerError

APPROVER = Actor("anna", "approver", "child")
CLERK = Actor("clara", "clerk", "child")
_print = threading.Lock()


def say(line: str) -> None:
    with _print:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def approve(url: str, ids: list[str]) -> None:
    ledger = build_ledger(Settings(database_url=url))
    barrier = threading.Barrier(len(ids))

    def run(application_id: str) -> None:
        barrier.wait()
        try:
            ledger.execute(APPROVER, ApproveApplication(
                application_id=application_id, approved_amount=Money(Decimal("150.00")),
                decided_on=date(2020, 3, 1)))
        except LedgerError as exc:
            say(f"refused {exc.code} {application_id}")
        else:
            say(f"ok {application_id}")

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()


def submit(url: str, phase_id: str, recipients: list[str]) -> None:
    ledger = build_ledger(Settings(database_url=url))
    say("ready")
    todo = list(recipients)
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                if not todo:
                    return
                recipient_id = todo.pop()
            result = ledger.execute(CLERK, SubmitApplication(
                phase_id=phase_id, recipient_id=recipient_id,
                requested_amount=Money(Decimal("10.00")), submitted_on=date(2020, 2, 1)))
            say(f"ack {result.ids['application_id']} {recipient_id}")

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    mode, url, *rest = sys.argv[1:]
    if mode == "approve":
        approve(url, rest)
    else:
        submit(url, rest[0], rest[1:])
