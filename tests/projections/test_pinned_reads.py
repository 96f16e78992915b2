"""As-of answers read outside a snapshot (statements on their own, pinned to the kept
view's version) equal those read in one; a dropped version is read again from the live
one; a current application is one statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from ledger import Settings, build_ledger
from ledger.errors import NotFound
from projections import ReadModelsImpl, build_read_models
from projections.db import Tx
from tests.projections.helpers import as_of_answers, run_story


def _count_statements(read_models: ReadModelsImpl) -> list[int]:
    """Counts the reads that ran as statements on their own (`Database.statements`)."""
    calls = [0]
    statements = read_models.db.statements

    @contextmanager
    def counted() -> Iterator[Tx]:
        calls[0] += 1
        with statements() as tx:
            yield tx

    read_models.db.statements = counted  # type: ignore[method-assign]  # a counting spy
    return calls


def test_as_of_answers_without_a_snapshot_equal_those_in_one(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    plain = build_read_models(settings, ledger)
    kept = build_read_models(settings, ledger, keep_answers=True)
    try:
        story = run_story(ledger, plain)
        kept.catch_up()
        assert kept.answers is not None
        kept.answers.refresh()
        pinned = _count_statements(kept)
        kept.phase_totals(story.phase_id, at=story.snapshots[0][0],
                         effective_on=date(2020, 12, 31))  # learns
        # the version's schema (a snapshot's read), then business dates pin too

        for position, live in story.snapshots[:-1]:
            before = pinned[0]
            assert as_of_answers(kept, story, position) == live, position
            for on in (date(2020, 6, 30), date(2021, 12, 31)):
                assert kept.phase_totals(story.phase_id, at=position, effective_on=on) == (
                    plain.phase_totals(story.phase_id, at=position, effective_on=on))
                assert kept.reconciliation(story.programme_id, 2020, at=position,
                                           effective_on=on) == plain.reconciliation(
                    story.programme_id, 2020, at=position, effective_on=on)
            assert pinned[0] == before + 8, position  # none of them took a snapshot
    finally:
        kept.close()
        plain.close()
        ledger.close()


def test_a_version_dropped_since_it_was_looked_at_is_read_again_from_the_live_one(
        sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    plain = build_read_models(settings, ledger)
    kept = build_read_models(settings, ledger, keep_answers=True)
    try:
        story = run_story(ledger)
        plain.catch_up()
        position = ledger.head()[0] - 3
        app = next(iter(story.apps.values()))
        assert kept.answers is not None
        kept.answers.refresh()
        tag = kept.answers.view("grants")

        kept.answers._live = {"grants": ("v999", 10**12), "audit": ("v999", 10**12)}
        totals = kept.phase_totals(story.phase_id, at=position)
        kept.answers._live = {"grants": ("v999", 10**12), "audit": ("v999", 10**12)}
        application = kept.application(app)

        assert totals == plain.phase_totals(story.phase_id, at=position)
        assert application == plain.application(app)
        assert kept.answers.view("grants") == tag
    finally:
        kept.close()
        plain.close()
        ledger.close()


def test_a_current_application_is_one_statement_and_answers_as_before(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    plain = build_read_models(settings, ledger)
    kept = build_read_models(settings, ledger, keep_answers=True)
    try:
        story = run_story(ledger)
        plain.catch_up()
        assert kept.answers is not None
        kept.answers.refresh()
        snapshots = [0]
        read = kept.db.read

        @contextmanager
        def counted() -> Iterator[Tx]:
            snapshots[0] += 1
            with read() as tx:
                yield tx

        kept.db.read = counted  # type: ignore[method-assign]  # a counting spy
        for app in story.apps.values():
            assert kept.application(app) == plain.application(app)
        with pytest.raises(NotFound, match="unknown application nobody"):
            kept.application("nobody")

        if sql_database_url.startswith("postgresql"):  # SQLite's fetch is a local read
            assert snapshots[0] == 0
    finally:
        kept.close()
        plain.close()
        ledger.close()
