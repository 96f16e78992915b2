"""The aggregate is `Grant`, but its events keep the topics they were stored under: a log
written before the rename reads, replays and hashes the same, and the audit trail's
event types stay `Application.<Event>`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from ledger import Ledger
from ledger.domain.grant import STORED_TOPIC, Grant

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_of_a_grant_keeps_its_stored_topic() -> None:
    events = {name: value for name, value in vars(Grant).items()
              if isinstance(value, type) and issubclass(value, CanMutateAggregate)}
    assert {"Submitted", "Approved", "DrawdownPaid", "RepaymentReceived", "Revoked"} <= set(events)
    assert get_topic(Grant) == "ledger.domain.application:Application"
    for name, cls in events.items():
        assert get_topic(cls) == f"{STORED_TOPIC}.{name}"
        assert resolve_topic(f"ledger.domain.application:Application.{name}") is cls


def test_a_recorded_grant_is_stored_and_read_under_the_old_topic() -> None:
    from tests.support.scenario import approved, funded_phase, recipients

    ledger = Ledger(env={"PERSISTENCE_MODULE": "ledger.persistence.popo:ChainedPOPOFactory"})
    try:
        f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
        application_id = approved(ledger, f, recipients(ledger, 1)[0], "100.00")
        records = ledger.chained_recorder.read_log(after=0, limit=1000)
        assert [r.event_type for r in records if r.originator_id == application_id] == [
            "Application.Submitted", "Application.Approved"]
        assert not [r.topic for r in records if "Grant" in r.topic]
        assert isinstance(ledger.application(application_id), Grant)
    finally:
        ledger.close()


def test_a_fresh_process_that_imports_the_ledger_resolves_stored_topics() -> None:
    code = ("import ledger; from eventsourcing.utils import resolve_topic; "
            "print(resolve_topic('ledger.domain.application:Application.DrawdownPaid')"
            ".__qualname__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "Grant.DrawdownPaid"
