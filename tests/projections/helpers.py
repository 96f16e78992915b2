"""A scenario that touches every event type, and the figures it must produce (worked out by
hand)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger import CommandResult, Ledger, Money, Settings, build_ledger
from projections import ReadModelsImpl, build_read_models
from tests.support.scenario import (
    APPROVER,
    CLERK,
    CLERK_2,
    FINANCE,
    FINANCE_2,
    Funded,
    funded_phase,
    money,
    recipients,
)

# (a ledger, read models without kept answers, read models with them: conftest.py)
Models = tuple[Ledger, ReadModelsImpl, ReadModelsImpl]


@dataclass
class Story:
    programme_id: str
    phase_id: str
    apps: dict[str, str] = field(default_factory=dict)
    recipients: dict[str, str] = field(default_factory=dict)
    # (position, live answers taken right after the command) for the as-of checks
    snapshots: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def run_story(ledger: Ledger, read_models: ReadModelsImpl | None = None) -> Story:
    """2020: five applications through every path; 2021: late payment, repayment, carry-over."""
    f = funded_phase(ledger, budget="20000000.00", envelope="16000000.00")
    story = Story(f.programme_id, f.phase_id)
    ids = recipients(ledger, 2, "gemeinde") + recipients(ledger, 2, "stadt")
    ids += recipients(ledger, 1, "landkreis")
    story.recipients = dict(zip(("r0", "r3", "r1", "r4", "r2"), ids, strict=True))
    r = story.recipients

    def step(result: CommandResult) -> CommandResult:
        if read_models is not None:
            read_models.catch_up()
            story.snapshots.append((result.position, _snapshot(read_models, story)))
        return result

    def submit(name: str, recipient: str, amount: str, measures: list[dict[str, str]] | None
               = None) -> None:
        story.apps[name] = step(ledger.submit_application(
            CLERK, phase_id=f.phase_id, recipient_id=r[recipient],
            requested_amount=money(amount), submitted_on=date(2020, 3, 1), measures=measures,
        )).ids["application_id"]

    def approve(name: str, amount: str) -> None:
        step(ledger.approve_application(APPROVER, application_id=story.apps[name],
                                        approved_amount=money(amount),
                                        decided_on=date(2020, 4, 1)))

    def drawdown(name: str, amount: str, paid_on: date | None) -> str:
        did = step(ledger.request_drawdown(CLERK, application_id=story.apps[name],
                                           amount=money(amount),
                                           requested_on=date(2020, 4, 2))).ids["drawdown_id"]
        if paid_on is not None:
            step(ledger.pay_drawdown(FINANCE, application_id=story.apps[name], drawdown_id=did,
                                     paid_on=paid_on))
        return did

    submit("a0", "r0", "100000.00", [
        {"category": "it_infrastructure", "description": "Server", "amount": "60000.00"},
        {"category": "training", "description": "Kurse", "amount": "40000.00"}])
    approve("a0", "100000.00")
    step(ledger.amend_award(APPROVER, application_id=story.apps["a0"],
                            new_amount=money("120000.00"), reason="more",
                            decided_on=date(2020, 5, 1)))
    drawdown("a0", "50000.00", date(2020, 5, 1))
    d2 = drawdown("a0", "30000.00", None)
    step(ledger.cancel_drawdown(CLERK, application_id=story.apps["a0"], drawdown_id=d2,
                                reason="wrong", cancelled_on=date(2020, 5, 3)))
    d3 = drawdown("a0", "20000.00", None)

    submit("a1", "r1", "50000.00")
    step(ledger.amend_application(CLERK_2, application_id=story.apps["a1"],
                                  requested_amount=money("45000.00"), reason="fewer laptops",
                                  measures=[{"category": "website", "description": "Portal",
                                             "amount": "45000.00"}],
                                  amended_on=date(2020, 3, 5)))
    approve("a1", "45000.00")
    drawdown("a1", "45000.00", date(2020, 6, 1))
    step(ledger.close_application(APPROVER, application_id=story.apps["a1"],
                                  closed_on=date(2020, 12, 1)))

    submit("a2", "r2", "200000.00")
    approve("a2", "200000.00")
    drawdown("a2", "80000.00", date(2020, 6, 1))
    step(ledger.amend_award(APPROVER, application_id=story.apps["a2"],
                            new_amount=money("150000.00"), reason="less",
                            decided_on=date(2020, 7, 1)))
    step(ledger.submit_proof_of_use(CLERK, application_id=story.apps["a2"],
                                    spent_amount=money("80000.00"), submitted_on=date(2020, 11, 1)))
    step(ledger.close_application(APPROVER, application_id=story.apps["a2"],
                                  closed_on=date(2020, 12, 2)))

    submit("a3", "r3", "10000.00")
    step(ledger.withdraw_application(CLERK, application_id=story.apps["a3"], reason="no need",
                                     withdrawn_on=date(2020, 3, 10)))
    submit("a4", "r4", "30000.00")
    step(ledger.reject_application(APPROVER, application_id=story.apps["a4"], reason="late",
                                   decided_on=date(2020, 4, 1)))
    submit("a5", "r3", "25000.00")
    approve("a5", "25000.00")
    drawdown("a5", "10000.00", None)
    step(ledger.revoke_application(APPROVER, application_id=story.apps["a5"], reason="misuse",
                                   decided_on=date(2020, 9, 1)))

    step(ledger.record_direct_expenditure(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                          amount=money("1000000.00"), paid_on=date(2020, 7, 1),
                                          payee="Platform GmbH", purpose="licence"))
    step(ledger.amend_budget(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                             new_amount=money("19000000.00"), reason="cut",
                             effective_date=date(2020, 8, 1)))
    step(ledger.pay_drawdown(FINANCE_2, application_id=story.apps["a0"], drawdown_id=d3,
                             paid_on=date(2021, 1, 15)))
    step(ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                  closed_on=date(2021, 2, 1), carry_over=money("500000.00")))
    step(ledger.record_repayment(FINANCE, application_id=story.apps["a0"],
                                 amount=money("5000.00"), received_on=date(2021, 3, 1),
                                 reason="unspent"))
    return story


@contextmanager
def story_behind(database_url: str, *, batch_size: int = 10, rebuild_far_behind: bool = False
                 ) -> Iterator[tuple[Ledger, ReadModelsImpl, Story]]:
    """A ledger with the story written and read models that have projected none of it, in
    batches of `batch_size` events; `rebuild_far_behind` as `build_read_models`'."""
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, batch_size=batch_size,
                                    rebuild_far_behind=rebuild_far_behind)
    try:
        yield ledger, read_models, run_story(ledger)
    finally:
        read_models.close()
        ledger.close()


@contextmanager
def caught_up_story(database_url: str, *, batch_size: int = 10
                    ) -> Iterator[tuple[Ledger, ReadModelsImpl, Story]]:
    """A ledger with the story written and read models caught up with it, in batches of
    `batch_size` events (small: a rebuild of the story then takes many batches)."""
    with story_behind(database_url, batch_size=batch_size) as (ledger, read_models, story):
        read_models.catch_up()
        yield ledger, read_models, story


def _snapshot(read_models: ReadModelsImpl, story: Story) -> dict[str, Any]:
    shot: dict[str, Any] = {
        "phase_totals": read_models.phase_totals(story.phase_id),
        "reconciliation": read_models.reconciliation(story.programme_id, 2020),
        "accounts": read_models.accounts(story.programme_id),
        "applications": read_models.applications(phase_id=story.phase_id, limit=1000),
        # (withdrawn applications left out: the as-of walk's `status_not`)
        "requested": read_models.phase_entries(story.phase_id, "requested", limit=1000),
    }
    return {k: _without_position(v) for k, v in shot.items()}


def _without_position(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "position"}


def as_of_answers(read_models: ReadModelsImpl, story: Story, at: int) -> dict[str, Any]:
    shot = {
        "phase_totals": read_models.phase_totals(story.phase_id, at=at),
        "reconciliation": read_models.reconciliation(story.programme_id, 2020, at=at),
        "accounts": read_models.accounts(story.programme_id, at=at),
        "applications": read_models.applications(phase_id=story.phase_id, limit=1000, at=at),
        "requested": read_models.phase_entries(story.phase_id, "requested", limit=1000, at=at),
    }
    assert all(answer["position"] == at for answer in shot.values())
    return {k: _without_position(v) for k, v in shot.items()}


def all_pages(fetch: Callable[..., dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, **kwargs)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@dataclass
class Played:
    """A random command sequence recorded and projected: the read models, the funded
    phase it ran in, and every log position it wrote."""

    read_models: ReadModelsImpl
    funded: Funded
    positions: list[int]


@contextmanager
def played(database_url: str, ops: list[tuple[str, int, Money, date]], *,
           batch_size: int) -> Iterator[Played]:
    """`ops` (tests/unit/test_money_properties.py) run in a funded phase of a fresh ledger
    with three recipients of one kind and two of another, refused commands skipped, and
    projected to the head in batches of `batch_size`."""
    from ledger import Settings, build_ledger
    from ledger.errors import LedgerError
    from projections import build_read_models
    from tests.unit.test_money_properties import run

    store = Settings(database_url=database_url)
    ledger = build_ledger(store)
    read_models = build_read_models(store, ledger, batch_size=batch_size)
    try:
        start = ledger.head()[0]
        f = funded_phase(ledger, budget="3000.00", envelope="1000.00")
        rids = recipients(ledger, 3) + recipients(ledger, 2, kind="stadt")
        for op, i, amount, day in ops:
            with contextlib.suppress(LedgerError):
                run(ledger, f.phase_id, f.programme_id, rids, op, i, amount, day)
        read_models.catch_up()
        positions = [link.position for link in
                     ledger.chained_recorder.select_chain(after=start, limit=10_000)]
        yield Played(read_models, f, positions)
    finally:
        read_models.close()
        ledger.close()
