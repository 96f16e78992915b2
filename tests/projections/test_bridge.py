"""Read-model code run by `bridge.run` on an event loop (projections/bridge.py): as of a
position its seeks are awaited there and its answers equal those of the same code in a
thread; anything that would block the loop refuses with WouldBlock and leaves the loop
free; an error inside reaches the caller; SQLite never runs there."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from ledger.errors import NotFound
from projections import ReadModelsImpl, bridge
from projections.db import Database
from tests.projections.helpers import Models, Story, run_story


def _on_loop(read: ReadModelsImpl, questions: list[Callable[[], Any]]) -> list[Any]:
    """Each question through `bridge.run` on one event loop; a question that refused
    gives the WouldBlock itself."""

    async def ask_all() -> list[Any]:
        answers = []
        for question in questions:
            try:
                answers.append(await bridge.run(question))
            except bridge.WouldBlock as refused:
                answers.append(refused)
        await read.aclose()
        return answers

    return asyncio.run(ask_all())


def _story(models: Models) -> tuple[Story, ReadModelsImpl, ReadModelsImpl]:
    ledger, plain, kept = models
    story = run_story(ledger, plain)
    kept.catch_up()
    assert kept.answers is not None
    kept.answers.refresh()
    kept.phase_totals(story.phase_id, at=story.snapshots[0][0],
                     effective_on=date(2020, 12, 31))  # learns the version's schema
    return story, plain, kept


def test_seeks_as_of_a_position_are_awaited_on_the_loop_with_the_threads_answers(
        models: Models) -> None:
    story, plain, kept = _story(models)
    positions = [position for position, _ in story.snapshots[:-1]]
    on = date(2020, 6, 30)
    questions: list[Callable[[], Any]] = []
    for position in positions:
        questions += [
            lambda p=position: kept.phase_totals(story.phase_id, at=p),
            lambda p=position: kept.phase_totals(story.phase_id, at=p, effective_on=on),
            lambda p=position: kept.reconciliation(story.programme_id, 2020, at=p,
                                                   effective_on=on),
            lambda p=position: kept.phase(story.phase_id, at=p),
        ]
    answers = _on_loop(kept, questions)

    if not kept.seeks_on_loop:  # SQLite: nothing waits on the loop, every one refuses
        assert all(isinstance(a, bridge.WouldBlock) for a in answers)
        return
    assert not any(isinstance(a, bridge.WouldBlock) for a in answers), answers
    expected = []
    for position in positions:
        expected += [plain.phase_totals(story.phase_id, at=position),
                     plain.phase_totals(story.phase_id, at=position, effective_on=on),
                     plain.reconciliation(story.programme_id, 2020, at=position,
                                          effective_on=on),
                     plain.phase(story.phase_id, at=position)]
    assert answers == expected
    # and they are the figures as of each position, not the same answer every time
    assert len({str(a["awarded"]) for a in answers[0::4]}) > 1


def test_a_current_application_is_awaited_on_the_loop_while_the_live_position_is_fresh(
        models: Models) -> None:
    story, plain, kept = _story(models)
    assert kept.answers is not None
    answers = kept.answers

    async def ask_all() -> list[Any]:
        found = []
        for application_id in sorted(story.apps.values()):
            answers.refresh()  # (the test's own read, on the loop: the live position)
            try:
                found.append(await bridge.run(lambda a=application_id: kept.application(a)))
            except bridge.WouldBlock as refused:
                found.append(refused)
        await kept.aclose()
        return found

    found = asyncio.run(ask_all())
    if not kept.seeks_on_loop:
        assert all(isinstance(a, bridge.WouldBlock) for a in found)
        return
    assert found == [plain.application(a) for a in sorted(story.apps.values())]


def test_what_would_block_the_loop_refuses_and_errors_reach_the_caller(
        models: Models) -> None:
    story, _, kept = _story(models)
    first = story.snapshots[0][0]

    answers = _on_loop(kept, [
        lambda: kept.applications(phase_id=story.phase_id, at=first),  # a list: a snapshot
        lambda: kept.phase_totals(story.phase_id),  # current: the live position first
        lambda: kept.db.fetch("SELECT 1"),
    ])
    assert all(isinstance(a, bridge.WouldBlock) for a in answers), answers

    async def unknown() -> None:
        try:
            await bridge.run(lambda: kept.phase_totals("no-such-phase", at=first))
        finally:
            await kept.aclose()

    expected: type[Exception] = NotFound if kept.seeks_on_loop else bridge.WouldBlock
    with pytest.raises(expected):
        asyncio.run(unknown())


def test_outside_a_bridged_greenlet_nothing_changes(sql_database_url: str) -> None:
    db = Database(sql_database_url)
    try:
        with db.statements(seeks=True) as tx:
            assert tx.execute("SELECT 1") == [(1,)]
        assert not bridge.inside()
        with pytest.raises(bridge.WouldBlock):
            bridge.wait(asyncio.sleep(0))
    finally:
        db.close()


def test_an_awaited_error_is_thrown_into_the_code_that_waited() -> None:
    seen: list[str] = []

    async def fails() -> None:
        raise ValueError("from the loop")

    def inside() -> str:
        try:
            bridge.wait(fails())
        except ValueError as error:
            seen.append(str(error))
        return "handled"

    async def main() -> Any:
        return await bridge.run(inside), await bridge.run(lambda: bridge.wait(asyncio.sleep(0, 7)))

    assert asyncio.run(main()) == ("handled", 7)
    assert seen == ["from the loop"]


def test_the_code_inside_sees_the_callers_context() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    async def main() -> str:
        request_id.set("r-1")
        return await bridge.run(lambda: request_id.get("none"))

    assert asyncio.run(main()) == "r-1"


def test_a_scope_by_business_date_that_did_not_exist_then_is_not_found(models: Models) -> None:
    story, plain, _ = _story(models)
    on = date(2020, 6, 30)

    found = plain.phase_totals(story.phase_id, at=story.snapshots[0][0], effective_on=on)

    assert found["phase_id"] == story.phase_id  # the scope's state and periods, one statement
    for ask in (lambda: plain.phase_totals("no-such-phase", effective_on=on),
                lambda: plain.phase_totals(story.phase_id, at=0, effective_on=on),
                lambda: plain.reconciliation(story.programme_id, 2020, at=0, effective_on=on)):
        with pytest.raises(NotFound):
            ask()


def test_a_seek_that_fails_leaves_its_connection_answering(postgres_url: str) -> None:
    """The seek connections reuse one cursor each: after a statement that failed (a
    dropped version's table), the next statements on the same connections answer."""
    db = Database(postgres_url)

    def seek(sql: str) -> list[Any]:
        with db.statements(seeks=True) as tx:
            return tx.execute(sql)

    async def ask() -> list[Any]:
        answers: list[Any] = []
        try:
            for round_ in range(3):
                answers.append(await bridge.run(lambda r=round_: seek(f"SELECT {r}")))
                try:
                    await bridge.run(lambda: seek("SELECT * FROM proj_no_such_table"))
                except Exception as error:  # the driver's own error class
                    answers.append(type(error).__name__)
            answers.append(await bridge.run(lambda: seek("SELECT 1 WHERE false")))
        finally:
            await db.aclose()
        return answers

    try:
        assert asyncio.run(ask()) == [[(0,)], "UndefinedTable", [(1,)], "UndefinedTable",
                                      [(2,)], "UndefinedTable", []]
    finally:
        db.close()
