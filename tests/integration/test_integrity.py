"""The verified checkpoint and digests: what an auditor relies on between full walks."""

from __future__ import annotations

import threading

import psycopg
import pytest
from typer.testing import CliRunner

from ledger import Ledger, Settings, build_ledger
from ledger.persistence.integrity import integrity
from scripts.cli import app
from tests.conftest import PG_DSN
from tests.support.scenario import approved, funded_phase, recipients
from tests.support.tamper import Insider


def _grants(ledger: Ledger, count: int = 3) -> None:
    f = funded_phase(ledger)
    for rid in recipients(ledger, count):
        approved(ledger, f, rid, "100.00")


def test_the_checkpoint_moves_a_bounded_number_of_links_per_call(ledger: Ledger) -> None:
    _grants(ledger)
    head = ledger.head()[0]

    first = integrity(ledger.chained_recorder, limit=5)
    second = integrity(ledger.chained_recorder, limit=5)
    while integrity(ledger.chained_recorder, limit=5).checkpoint.position < head:
        pass

    assert first.checkpoint.links == 5 and second.checkpoint.links == 10
    assert first.verified and first.checkpoint.position < head
    assert ledger.integrity().checkpoint.position == head
    assert ledger.integrity().checkpoint.hash.hex() == ledger.head()[1]


def test_more_events_move_the_verified_position(ledger: Ledger) -> None:
    _grants(ledger)
    before = ledger.integrity().checkpoint
    _grants(ledger, 1)

    after = ledger.integrity()

    assert after.verified
    assert after.checkpoint.position == after.head_position > before.position
    assert after.checkpoint.verified_at is not None and before.verified_at is not None
    assert after.checkpoint.verified_at >= before.verified_at


def test_a_row_altered_after_the_checkpoint_is_found_when_it_extends(
        sql_database_url: str) -> None:
    ledger = build_ledger(Settings(database_url=sql_database_url))
    _grants(ledger)
    verified = ledger.integrity().checkpoint.position
    _grants(ledger, 2)
    target = Insider(sql_database_url).positions()[-3]
    Insider(sql_database_url).alter_event(target)

    answer = ledger.integrity()
    _grants(ledger, 1)
    later = ledger.integrity()

    assert not answer.verified
    assert answer.checkpoint.broken_at == target
    assert f"position {target}" in (answer.checkpoint.problem or "")
    assert verified < answer.checkpoint.position < target
    assert not later.verified and later.checkpoint.broken_at == target  # the finding stands
    ledger.close()


def test_a_rewritten_chain_below_the_checkpoint_breaks_it(sql_database_url: str) -> None:
    ledger = build_ledger(Settings(database_url=sql_database_url))
    _grants(ledger)
    verified = ledger.integrity().checkpoint.position
    insider = Insider(sql_database_url)
    insider.dodge_digest(insider.positions()[5])  # consistent again from genesis

    answer = ledger.integrity()
    walk = ledger.verify_chain()

    assert not answer.verified and answer.checkpoint.broken_at == verified
    assert "no longer holds the hash" in (answer.checkpoint.problem or "")
    assert not walk.verified  # the full walk checks the checkpoint as a digest too
    ledger.close()


def test_digest_dodge_is_caught_by_verify(postgres_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = build_ledger(Settings(database_url=postgres_url))
    _grants(ledger)
    position, head = ledger.head()
    _grants(ledger, 2)
    Insider(postgres_url).dodge_digest(position)
    monkeypatch.setenv("LEDGER_DATABASE_URL", postgres_url)

    report = ledger.verify_chain(digest=(position, head))
    cli = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{head}"])

    assert ledger.verify_chain().verified  # without the digest the forged chain passes
    assert not report.verified and report.broken_at == position
    assert "no link at the digest's position" in (report.problem or "")
    assert cli.exit_code == 1, cli.output
    assert f"digest {position}:{head} checked at " in cli.output
    assert "FAILED" in cli.output
    ledger.close()


def test_digests_pass_and_fail_as_they_should(ledger: Ledger) -> None:
    _grants(ledger)
    position, head = ledger.head()
    _grants(ledger, 1)

    good = ledger.verify_chain(digest=(position, head))
    beyond = ledger.verify_chain(digest=(ledger.head()[0] + 10, head))
    genesis = ledger.verify_chain(digest=(0, "0" * 64))
    wrong = ledger.verify_chain(digest=(position, "1" * 64))

    assert good.verified and genesis.verified
    assert not beyond.verified and "beyond the log" in (beyond.problem or "")
    assert not wrong.verified and wrong.broken_at == position
    assert ledger.integrity().verified  # an auditor's wrong digest does not break the checkpoint


def test_a_full_walk_moves_the_checkpoint_to_the_head(ledger: Ledger) -> None:
    _grants(ledger)

    ledger.verify_chain()

    checkpoint = ledger.chained_recorder.read_checkpoint()
    assert (checkpoint.position, checkpoint.hash.hex()) == ledger.head()
    assert checkpoint.verified_at is not None


def test_a_busy_checkpoint_lock_answers_from_the_stored_checkpoint(postgres_url: str) -> None:
    ledger = build_ledger(Settings(database_url=postgres_url))
    _grants(ledger)
    stored = ledger.integrity().checkpoint
    _grants(ledger, 1)
    schema = postgres_url.rsplit("schema=", 1)[1]

    with psycopg.connect(PG_DSN) as other:
        other.execute("SELECT pg_advisory_xact_lock(hashtext(%s)::bigint)",
                      (f"{schema}.ledger_integrity_checkpoint",))
        busy = ledger.integrity()
    free = ledger.integrity()

    assert busy.checkpoint == stored and busy.head_position > stored.position
    assert free.checkpoint.position == free.head_position
    ledger.close()


def test_concurrent_extenders_agree_and_never_fail(ledger: Ledger) -> None:
    _grants(ledger, 4)
    head = ledger.head()[0]
    errors: list[BaseException] = []

    def audit() -> None:
        try:
            for _ in range(6):
                integrity(ledger.chained_recorder, limit=3)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=audit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while (final := ledger.integrity().checkpoint).position < head:
        pass

    assert errors == []
    assert final.verified
    assert final.links == len(ledger.chained_recorder.select_chain(after=0, limit=10**6))
