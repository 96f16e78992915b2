"""As-of answers read outside a snapshot (statements on their own, pinned to the kept
view's version) equal those read in one; a dropped version is read again from the live
one; a current application is one statement; figures and states as of a position are
seeks, planned once per connection on PostgreSQL, and lists are not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest

from ledger.errors import NotFound
from projections import ReadModelsImpl
from projections.db import Tx
from tests.projections.helpers import Models, as_of_answers, run_story


def _count(read_models: ReadModelsImpl, kind: str,
           seeks: list[bool] | None = None) -> list[int]:
    """Counts the reads of `kind`: "statements" (statements on their own) or "read"
    (a snapshot's transaction) of `Database`; notes each one's `seeks` in `seeks`."""
    calls = [0]
    reads = getattr(read_models.db, kind)

    @contextmanager
    def counted(**options: Any) -> Iterator[Tx]:
        calls[0] += 1
        if seeks is not None:
            seeks.append(bool(options.get("seeks")))
        with reads(**options) as tx:
            yield tx

    setattr(read_models.db, kind, counted)  # a counting spy
    return calls


def test_as_of_answers_without_a_snapshot_equal_those_in_one(models: Models):
    ledger, plain, kept = models
    story = run_story(ledger, plain)
    kept.catch_up()
    assert kept.answers is not None
    kept.answers.refresh()
    pinned = _count(kept, "statements")
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
        # one pinned read per answer, none of them a snapshot: each of `live`'s and the
        # four by business date
        assert pinned[0] == before + len(live) + 4, position


def test_a_version_dropped_since_it_was_looked_at_is_read_again_from_the_live_one(
        models: Models):
    ledger, plain, kept = models
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


def test_a_current_application_is_one_statement_and_answers_as_before(
        models: Models, sql_database_url: str):
    ledger, plain, kept = models
    story = run_story(ledger)
    plain.catch_up()
    assert kept.answers is not None
    kept.answers.refresh()
    snapshots = _count(kept, "read")
    for app in story.apps.values():
        assert kept.application(app) == plain.application(app)
    with pytest.raises(NotFound, match="unknown application nobody"):
        kept.application("nobody")

    if sql_database_url.startswith("postgresql"):  # SQLite's fetch is a local read
        assert snapshots[0] == 0


def _plan_cache_mode(tx: Tx) -> str:
    return str(tx.execute("SELECT current_setting('plan_cache_mode')")[0][0])


def test_figures_as_of_a_position_are_seeks_planned_once_and_lists_are_not(
        models: Models, sql_database_url: str):
    ledger, plain, kept = models
    story = run_story(ledger, plain)
    kept.catch_up()
    assert kept.answers is not None
    kept.answers.refresh()
    position = story.snapshots[0][0]
    kept.phase_totals(story.phase_id, at=position)  # learns the version's schema
    seeks: list[bool] = []
    _count(kept, "statements", seeks)
    app = next(iter(story.apps.values()))

    assert kept.phase_totals(story.phase_id, at=position) == plain.phase_totals(
        story.phase_id, at=position)
    assert kept.application(app, at=position) == plain.application(app, at=position)
    assert kept.reconciliation(story.programme_id, 2020, at=position,
                               effective_on=date(2020, 12, 31)) == plain.reconciliation(
        story.programme_id, 2020, at=position, effective_on=date(2020, 12, 31))
    assert seeks == [True, True, True]
    assert kept.applications(phase_id=story.phase_id, status="approved", at=position) == (
        plain.applications(phase_id=story.phase_id, status="approved", at=position))
    assert seeks == [True, True, True, False]  # a list's filters choose its plan

    if sql_database_url.startswith("postgresql"):
        with kept.db.statements(seeks=True) as tx:
            assert _plan_cache_mode(tx) == "force_generic_plan"
        with kept.db.statements() as tx:
            assert _plan_cache_mode(tx) == "auto"
        with kept.db.read() as tx:
            assert _plan_cache_mode(tx) == "auto"
