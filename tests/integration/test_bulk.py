"""The recorders' bulk path (a save of BULK_EVENTS events or more: COPY on PostgreSQL, one
executemany on SQLite): the log, the chain and the refusals of saves one by one."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from typer.testing import CliRunner

from ledger import Ledger, NewRecipient, Settings, build_ledger
from ledger.commands import NewApplication
from ledger.persistence.chain import BULK_EVENTS
from ledger.persistence.log import LogRecord
from scripts.cli import app
from tests.support.reference_chain import unmatched_links
from tests.support.scenario import ADMIN, CLERK, approved, funded_phase, money, recipients


@pytest.fixture
def ledger(sql_database_url: str) -> Iterator[Ledger]:
    app = build_ledger(Settings(database_url=sql_database_url))
    yield app
    app.close()


def whole_log(ledger: Ledger) -> list[LogRecord]:
    return list(ledger.chained_recorder.read_log(after=0, limit=10**6))


def event_count(ledger: Ledger) -> int:
    return len(ledger.chained_recorder.select_notifications(start=1, limit=10**6))


def stored(count: int, *, topic: str = "tests:Bulk.Event") -> list[StoredEvent]:
    return [StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=topic,
                        state=b'{"n":%d}' % n) for n in range(count)]


def test_a_bulk_save_chains_and_verifies_like_saves_one_by_one(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    head = ledger.head()[0]
    ids = recipients(ledger, BULK_EVENTS + 50)
    submitted = ledger.submit_applications(CLERK, applications=[  # read guards too
        NewApplication(f.phase_id, rid, money("1000.00"), date(2020, 3, 1)) for rid in ids[:150]])
    approved(ledger, f, ids[-1], "500.00")

    log = whole_log(ledger)
    report = ledger.verify_chain()

    assert report.verified and report.checked == len(log) == event_count(ledger)
    assert unmatched_links(log) == []
    bulk = [r for r in log if r.position > head][:BULK_EVENTS + 50]
    assert [r.position for r in bulk] == list(range(bulk[0].position, bulk[-1].position + 1))
    assert len({r.recorded_at for r in bulk}) == 1  # a save's links share one time, as before
    assert bulk[0].recorded_at >= log[log.index(bulk[0]) - 1].recorded_at
    application_ids = submitted.ids["application_ids"].split(",")
    assert [r.originator_id for r in log if r.event_type == "Application.Submitted"][:150] == (
        application_ids)


def test_a_bulk_save_returns_the_positions_of_its_events_in_their_order(
    ledger: Ledger,
) -> None:
    events = stored(BULK_EVENTS)

    positions = ledger.recorder.insert_events(events)

    assert positions is not None and len(positions) == BULK_EVENTS
    by_position = {r.position: r for r in whole_log(ledger)}
    assert [(by_position[p].originator_id, by_position[p].state) for p in positions] == [
        (str(e.originator_id), e.state) for e in events]


def test_a_bulk_save_with_a_taken_version_writes_nothing(ledger: Ledger) -> None:
    recipients(ledger, 3)
    before, count = ledger.head(), event_count(ledger)
    taken = ledger.chained_recorder.read_log(after=0, limit=1)[0]
    events = [*stored(BULK_EVENTS), StoredEvent(
        originator_id=uuid.UUID(taken.originator_id), originator_version=1, topic="t",
        state=b"{}")]

    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events(events)

    assert ledger.head() == before and event_count(ledger) == count
    assert ledger.verify_chain().verified


def test_a_bulk_save_whose_read_guard_moved_writes_nothing(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    phase = ledger.phase(f.phase_id)
    before, count = ledger.head(), event_count(ledger)

    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events(stored(BULK_EVENTS),
                                      read_guards=[(phase.id, phase.version - 1)])
    guarded = ledger.recorder.insert_events(stored(BULK_EVENTS),
                                            read_guards=[(phase.id, phase.version)])

    assert guarded is not None and len(guarded) == BULK_EVENTS
    assert event_count(ledger) == count + BULK_EVENTS
    assert ledger.head()[0] > before[0] and ledger.verify_chain().verified


def test_bulk_and_single_writers_at_once_keep_one_unbroken_chain(
    sql_database_url: str,
) -> None:
    ledgers = [build_ledger(Settings(database_url=sql_database_url)) for _ in range(2)]
    batches = [[f"b{k}-{uuid.uuid4().hex[:8]}-{n}" for n in range(BULK_EVENTS + 10)]
               for k in range(4)]
    singles = [f"s{uuid.uuid4().hex[:10]}" for _ in range(40)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def write(ledger: Ledger, groups: list[list[str]]) -> None:
        start.wait()
        try:
            for group in groups:
                ledger.register_recipients(ADMIN, recipients=[
                    NewRecipient(rid, f"Gemeinde {rid}", "gemeinde") for rid in group])
        except BaseException as exc:  # the test reports it
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(ledgers[0], batches)),
               threading.Thread(target=write, args=(ledgers[1], [[s] for s in singles]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    log = whole_log(ledgers[0])
    assert failures == []
    assert len(log) == event_count(ledgers[0]) == sum(map(len, batches)) + len(singles)
    assert ledgers[0].verify_chain().verified and unmatched_links(log) == []
    order = [orjson.loads(r.state).get("recipient_id") for r in log]
    for batch in batches:  # each bulk save is one run of the log: nothing in between
        at = order.index(batch[0])
        assert order[at:at + len(batch)] == batch
    for one in ledgers:
        one.close()


def test_a_large_import_is_one_bulk_save_and_verifies(
    sql_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", sql_database_url)
    ledger = build_ledger(Settings(database_url=sql_database_url))
    f = funded_phase(ledger)
    ids = recipients(ledger, BULK_EVENTS)
    before = ledger.head()[0]
    header = "phase_id,recipient_id,requested_amount,submitted_on,reference\n"
    rows = [f"{f.phase_id},{rid},1000.00,2020-03-01,R{n}\n" for n, rid in enumerate(ids)]
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(header + "".join(rows) + f"{f.phase_id},{ids[0]},5.00,2020-03-02,\n")
    good.write_text(header + "".join(rows))

    refused = CliRunner().invoke(app, ["import", str(bad)])
    after_refusal = ledger.head()[0]
    imported = CliRunner().invoke(app, ["import", str(good)])

    assert refused.exit_code == 1 and "duplicate_application" in refused.output
    assert after_refusal == before
    assert imported.exit_code == 0, imported.output
    log = [r for r in whole_log(ledger) if r.position > before]
    assert len(log) == 2 * BULK_EVENTS and len({r.recorded_at for r in log}) == 1
    assert ledger.verify_chain().verified and unmatched_links(whole_log(ledger)) == []
    ledger.close()
