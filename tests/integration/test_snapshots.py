"""Nothing outside the chain decides (issue 9, finding 2): an edited snapshot is ignored
by the write side and named by `ledger verify`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore
from typer.testing import CliRunner

from ledger import Ledger, Settings, build_ledger
from ledger.errors import BudgetExceeded
from ledger.persistence.snapshots import audit_snapshots
from scripts.cli import app
from tests.support.scenario import (
    APPROVER,
    CLERK,
    Funded,
    funded_phase,
    money,
    phase_at_its_first_snapshot,
    recipients,
)
from tests.support.tamper import Insider


@dataclass
class Snapshotted:
    url: str
    funded: Funded
    application_ids: list[str]


@pytest.fixture
def snapshotted(sql_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Snapshotted]:
    """A phase with an envelope of 1000.00 and 499 applications of 5000.00: the phase's
    500th version, so eventsourcing stores a snapshot of it."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", sql_database_url)
    ledger = build_ledger(Settings(database_url=sql_database_url))
    funded, ids = phase_at_its_first_snapshot(ledger)
    ledger.close()
    yield Snapshotted(sql_database_url, funded, ids)


def _raise_envelope_in_snapshot(url: str) -> None:
    insider = Insider(url)
    assert insider.edit_snapshots('"1000.00"', '"9000000.00"') == 1

    def raise_by_date(state: dict[str, Any]) -> bool:
        # and the envelope by business date (ledger/domain/by_date.py, cents on its
        # opening day), which would otherwise still refuse the award: a thorough forger
        opening = min(state["by_day"])
        state["by_day"][opening] += (9_000_000 - 1_000) * 100
        return True

    assert insider.change_snapshots(raise_by_date) == 1


def _restart(url: str) -> Ledger:
    return build_ledger(Settings(database_url=url))


def _approve(ledger: Ledger, application_id: str, amount: str = "5000.00") -> None:
    ledger.approve_application(APPROVER, application_id=application_id,
                               approved_amount=money(amount), decided_on=date(2020, 3, 2))


def test_an_edited_snapshot_is_ignored_and_named_by_verify(snapshotted: Snapshotted) -> None:
    _raise_envelope_in_snapshot(snapshotted.url)
    ledger = _restart(snapshotted.url)

    with pytest.raises(BudgetExceeded):
        _approve(ledger, snapshotted.application_ids[0])
    phase = ledger.phase(snapshotted.funded.phase_id)
    ledger.close()
    result = CliRunner().invoke(app, ["verify"])

    assert str(phase.envelope) == "1000.00"
    assert result.exit_code == 1, result.output
    assert f"snapshot of phase {snapshotted.funded.phase_id}" in result.output
    assert "at version 500: differs from a fold of the chained events" in result.output
    assert "verify: FAILED" in result.output


def test_verify_names_a_negative_account_even_if_the_write_side_was_fooled(
    snapshotted: Snapshotted,
) -> None:
    _raise_envelope_in_snapshot(snapshotted.url)
    ledger = _restart(snapshotted.url)
    store = ledger.repository.snapshot_store
    assert store is not None
    # The write side as it was before the fix: the stored snapshot taken at its word.
    ledger.repository.snapshot_store = EventStore(mapper=store.mapper, recorder=store.recorder)
    _approve(ledger, snapshotted.application_ids[0])
    ledger.close()

    result = CliRunner().invoke(app, ["verify"])

    assert result.exit_code == 1, result.output
    assert f"account phase:{snapshotted.funded.phase_id} stood at -4000.00" in result.output


@pytest.mark.parametrize("earlier_release", [False, True], ids=["untouched", "earlier"])
def test_verify_passes_untouched_snapshots(snapshotted: Snapshotted,
                                           earlier_release: bool) -> None:
    """Also a snapshot an earlier release took, which lacks the phase's balances by
    business date: it is not used (the fold stands in, as for any snapshot not used) but
    it is not reported as altered either — after an upgrade `ledger verify` failed on
    every snapshotted phase."""
    if earlier_release:
        assert Insider(snapshotted.url).drop_from_snapshots("by_day") == 1
    ledger = _restart(snapshotted.url)
    _approve(ledger, snapshotted.application_ids[0], "400.00")
    ledger.close()
    result = CliRunner().invoke(app, ["verify"])

    assert result.exit_code == 0, result.output
    assert "snapshots: 1 of 1 equal a fold of the chained events" in result.output


def test_a_snapshot_forged_beyond_the_log_is_ignored() -> None:
    """Not only edited snapshots: one inserted for a version the chain never reached."""
    ledger = build_ledger(Settings(database_url="memory://"))
    funded = funded_phase(ledger, envelope="1000.00")
    (recipient_id,) = recipients(ledger, 1)
    application_id = ledger.submit_application(
        CLERK, phase_id=funded.phase_id, recipient_id=recipient_id,
        requested_amount=money("5000.00"), submitted_on=date(2020, 3, 1)).ids["application_id"]
    phase = ledger.phase(funded.phase_id)
    true = Snapshot.take(phase)
    forged = Snapshot(originator_id=phase.id, originator_version=phase.version + 10,
                      timestamp=true.timestamp, topic=true.topic,
                      state={**true.state, "envelope": money("9000000.00")})
    assert ledger.snapshots is not None
    ledger.snapshots.recorder.insert_events([ledger.mapper.to_stored_event(forged)])
    ledger.repository.cache = None  # as after a restart: nothing cached

    with pytest.raises(BudgetExceeded):
        _approve(ledger, application_id)
    count, problems = audit_snapshots(ledger)

    assert count == 1
    assert [(p.entity, p.problem) for p in problems] == [
        (f"phase {funded.phase_id}", "its aggregate has no chained event at that version")]
