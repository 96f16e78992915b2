"""Every read model of SPEC §5 on SQLite and PostgreSQL, against figures worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from ledger import Ledger, NewRecipient, Settings, build_ledger
from ledger.commands import NewApplication
from ledger.errors import NotFound, ValidationFailed
from ledger.persistence.chain import BULK_EVENTS
from projections import ReadModelsImpl, build_read_models
from projections.totals import PHASE_FIGURES, RECONCILIATION_FIGURES
from tests.projections.helpers import Story, all_pages, as_of_answers, run_story
from tests.support.scenario import ADMIN, APPROVER, CLERK, funded_phase, money, recipients


@pytest.fixture
def store(sql_database_url: str) -> Iterator[tuple[Ledger, ReadModelsImpl]]:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, batch_size=7)
    yield ledger, read_models
    read_models.close()


@pytest.fixture
def story(store: tuple[Ledger, ReadModelsImpl]) -> Story:
    ledger, read_models = store
    result = run_story(ledger)
    read_models.catch_up()
    return result


def test_phase_totals_match_the_commands(store: tuple[Ledger, ReadModelsImpl], story: Story):
    _, read_models = store

    totals = read_models.phase_totals(story.phase_id)

    assert {k: totals[k] for k in PHASE_FIGURES} | {"requested": totals["requested"]} == {
        "envelope": "16000000.00", "requested": "400000.00", "awarded": "340000.00",
        "released": "95000.00", "committed": "245000.00", "available": "15755000.00",
        "paid": "195000.00", "repaid": "5000.00", "net_paid": "190000.00",
        "outstanding": "50000.00",
    }
    assert totals["counts"] == {"approved": 1, "closed": 2, "rejected": 1, "revoked": 1,
                                "withdrawn": 1}
    assert totals["by_kind"]["gemeinde"] == {
        "requested": "125000.00", "awarded": "145000.00", "released": "25000.00",
        "committed": "120000.00", "paid": "70000.00", "repaid": "5000.00",
        "net_paid": "65000.00", "outstanding": "50000.00"}
    assert totals["by_kind"]["stadt"]["requested"] == "75000.00"
    assert totals["by_kind"]["stadt"]["paid"] == "45000.00"
    assert totals["by_kind"]["landkreis"]["committed"] == "80000.00"
    assert totals["requested_by_category"] == {
        "it_infrastructure": "60000.00", "training": "40000.00", "website": "45000.00"}
    assert totals["position"] == read_models.position()


def test_every_phase_figure_drills_down_to_entries_that_sum_to_it(
    store: tuple[Ledger, ReadModelsImpl], story: Story
):
    _, read_models = store
    totals = read_models.phase_totals(story.phase_id)

    for figure in ("requested", *PHASE_FIGURES):
        items = all_pages(read_models.phase_entries, phase_id=story.phase_id, figure=figure,
                          limit=2)

        assert sum(Decimal(i["amount"]) for i in items) == Decimal(totals[figure]), figure
        assert all(i["position"] <= totals["position"] for i in items)
    paid = all_pages(read_models.phase_entries, phase_id=story.phase_id, figure="paid")
    assert {i["event_type"] for i in paid} == {"DrawdownPaid"}
    with pytest.raises(NotFound):
        read_models.phase_entries(story.phase_id, "nonsense")


def test_reconciliation_uses_effective_dates_and_balances(
    store: tuple[Ledger, ReadModelsImpl], story: Story
):
    _, read_models = store

    y2020 = read_models.reconciliation(story.programme_id, 2020)
    y2021 = read_models.reconciliation(story.programme_id, 2021)

    assert {k: y2020[k] for k in RECONCILIATION_FIGURES} == {
        "appropriation": "19000000.00", "carried_in": "0.00",
        "funded_to_phases": "16000000.00", "direct_expenditure": "1000000.00",
        "unallocated": "0.00", "committed": "245000.00", "phases_available": "15755000.00",
        "paid_against_year": "195000.00", "paid_in_year": "175000.00",
        "repaid_in_year": "0.00", "outstanding": "50000.00", "lapsed": "1500000.00",
        "carried_out": "500000.00", "trial_balance": "0.00",
    }
    assert y2020["status"] == "closed"
    assert y2020["balanced"] is True
    assert [c["holds"] for c in y2020["checks"]] == [True] * 5
    assert y2021["carried_in"] == "500000.00"
    assert y2021["unallocated"] == "500000.00"
    assert y2021["paid_in_year"] == "20000.00"
    assert y2021["repaid_in_year"] == "5000.00"
    assert y2021["status"] == "open"
    assert y2021["balanced"] is True
    for figure in RECONCILIATION_FIGURES:
        page = read_models.reconciliation_entries(story.programme_id, 2020, figure, limit=1000)
        assert sum(Decimal(i["amount"]) for i in page["items"]) == Decimal(y2020[figure])
        assert page["total"] == y2020[figure]
    with pytest.raises(NotFound):
        read_models.reconciliation(story.programme_id, 2030)


def test_accounts_are_a_zero_trial_balance(store: tuple[Ledger, ReadModelsImpl], story: Story):
    _, read_models = store

    answer = read_models.accounts(story.programme_id)

    balances = {a["account"]: a["balance"] for a in answer["accounts"]}
    a0 = story.apps["a0"]
    assert answer["total"] == "0.00"
    assert balances["appropriation:2020"] == "-19000000.00"
    assert balances[f"phase:{story.phase_id}"] == "15755000.00"
    assert balances["lapsed:2020"] == "1500000.00"
    assert balances["unallocated:2021"] == "500000.00"
    assert balances[f"paid:{a0}"] == "65000.00"
    assert balances[f"outstanding:{a0}"] == "50000.00"
    assert balances["repaid:2021"] == "5000.00"


def test_applications_and_statements(store: tuple[Ledger, ReadModelsImpl], story: Story):
    _, read_models = store

    a0 = read_models.application(story.apps["a0"])
    a5 = read_models.application(story.apps["a5"])
    listed = all_pages(read_models.applications, phase_id=story.phase_id, limit=2)
    closed = read_models.applications(phase_id=story.phase_id, status="closed")
    statement = read_models.recipient_statement(story.recipients["r3"])

    assert (a0["status"], a0["requested"], a0["awarded"], a0["paid"], a0["repaid"]) == (
        "approved", "100000.00", "120000.00", "70000.00", "5000.00")
    assert [(d["drawdown_id"], d["amount"], d["status"]) for d in a0["drawdowns"]] == [
        ("D1", "50000.00", "paid"), ("D2", "30000.00", "cancelled"), ("D3", "20000.00", "paid")]
    assert a5["status"] == "revoked"
    assert a5["released"] == "25000.00"
    assert [d["status"] for d in a5["drawdowns"]] == ["cancelled"]
    assert sorted(a["application_id"] for a in listed) == sorted(story.apps.values())
    assert {a["application_id"] for a in closed["items"]} == {story.apps["a1"], story.apps["a2"]}
    assert [(a["status"], a["requested"], a["awarded"], a["balance"])
            for a in sorted(statement["applications"], key=lambda a: a["requested"])] == [
        ("withdrawn", "10000.00", "0.00", "0.00"), ("revoked", "25000.00", "25000.00", "0.00")]
    assert statement["totals"]["requested"] == "25000.00"  # the withdrawn one left out (SPEC §5)
    assert read_models.programme(story.programme_id)["phases"] == [story.phase_id]
    assert read_models.phase(story.phase_id)["envelope"] == "16000000.00"
    assert read_models.recipient(story.recipients["r2"])["kind"] == "landkreis"
    with pytest.raises(NotFound):
        read_models.application("00000000-0000-0000-0000-000000000000")
    with pytest.raises(ValidationFailed):
        read_models.applications(cursor="!!!")
    with pytest.raises(ValidationFailed):
        read_models.applications(status="lost")


def test_audit_trail_filters_and_pages(store: tuple[Ledger, ReadModelsImpl], story: Story):
    ledger, read_models = store
    head = ledger.head()[0]

    everything = all_pages(read_models.audit, limit=17)
    history = all_pages(read_models.application_history, application_id=story.apps["a0"])
    approvals = read_models.audit(event_type="Approved", limit=1000)
    by_finance = read_models.audit(actor="frieda", limit=1000)

    assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)
    assert everything[-1]["position"] == head
    assert everything[-1]["hash"] == ledger.head()[1]
    assert [e["event_type"] for e in history][:2] == ["Application.Submitted",
                                                      "Application.Approved"]
    assert {e["entity_id"] for e in history} == {story.apps["a0"]}
    assert len(approvals["items"]) == 4
    assert [e["event_type"] for e in by_finance["items"]] == ["Application.DrawdownPaid"]
    revoke = next(e for e in everything if e["event_type"] == "Application.Revoked")
    assert revoke["reason"] == "misuse"
    assert revoke["data"]["released"] == "25000.00"
    programme_events = read_models.audit(entity_id=story.programme_id, limit=1000)["items"]
    assert "Programme.FiscalYearClosed" in {e["event_type"] for e in programme_events}
    until = everything[3]["recorded_at"]
    assert all(e["recorded_at"] <= until
               for e in read_models.audit(recorded_to=until, limit=1000)["items"])


_LONG_AGO = "2000-01-01T00:00:00.000000Z"


def test_the_audit_trail_by_time_and_type_is_what_filtering_every_event_gives(
    store: tuple[Ledger, ReadModelsImpl], story: Story,
) -> None:
    """A time range is read as a range of positions (projections/audit.py): every window
    between recorded times, at the edges of a bulk commit whose events share one time
    too, answers exactly the events recorded in it; an event type with its aggregate
    ("Application.Approved") as well as without."""
    ledger, read_models = store
    ledger.register_recipients(ADMIN, recipients=[  # one commit: one recorded time
        NewRecipient(f"bulk{n}", f"Gemeinde {n}", "gemeinde") for n in range(BULK_EVENTS)])
    read_models.catch_up()
    everything = all_pages(read_models.audit, limit=1000)
    times = sorted({e["recorded_at"] for e in everything})
    tie = max(times, key=[e["recorded_at"] for e in everything].count)
    assert [e["recorded_at"] for e in everything].count(tie) == BULK_EVENTS

    def window(first: str | None, last: str | None) -> list[int]:
        return [e["position"] for e in all_pages(read_models.audit, limit=97,
                                                recorded_from=first, recorded_to=last)]

    for first, last in [(times[0], times[-1]), (times[2], times[5]), (tie, tie),
                        (times[1], tie), (tie, times[-1]), (times[3], None), (None, times[3]),
                        (times[-1], times[0]), (_LONG_AGO, "2000-01-02T00:00:00.000000Z"),
                        ("2999-01-01T00:00:00.000000Z", None), (_LONG_AGO, None)]:
        assert window(first, last) == [
            e["position"] for e in everything
            if (first is None or e["recorded_at"] >= first)
            and (last is None or e["recorded_at"] <= last)], (first, last)
    typed = read_models.audit(event_type="Application.Approved", limit=1000)["items"]
    named = read_models.audit(event_type="Approved", limit=1000)["items"]
    assert [e["position"] for e in typed] == [e["position"] for e in named] == [
        e["position"] for e in everything if e["event_type"] == "Application.Approved"]
    assert read_models.audit(event_type="Programme.Approved", limit=10)["items"] == []


def test_as_of_answers_equal_what_the_live_projection_said(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    try:
        story = run_story(ledger, read_models)

        for position, live in story.snapshots:
            assert as_of_answers(read_models, story, position) == live, position
    finally:
        read_models.close()


def test_the_runner_thread_keeps_up_and_wait_for_reads_own_writes(database_url: str):
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, interval=0.05)
    read_models.start()
    try:
        story = run_story(ledger)
        head = ledger.head()[0]

        assert read_models.wait_for(head, timeout=10)
        assert read_models.positions() == {"audit": head, "grants": head}
        assert read_models.reconciliation(story.programme_id, 2020)["balanced"] is True
    finally:
        read_models.close()


def test_a_statement_by_business_date_lists_applications_as_they_stood_then(
        store: tuple[Ledger, ReadModelsImpl]) -> None:
    """By business date, an application's status and requested amount are its state after
    its events effective by then, and one submitted later is not listed — as phase totals
    count states by business date — while its money is cut the same way."""
    from datetime import date

    from tests.support.scenario import APPROVER, CLERK, funded_phase, money, recipients

    ledger, read_models = store
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    submitted = ledger.submit_application(
        CLERK, phase_id=f.phase_id, recipient_id=rid, requested_amount=money("1000.00"),
        submitted_on=date(2020, 2, 1))
    application_id, after_submission = submitted.ids["application_id"], submitted.position
    ledger.approve_application(APPROVER, application_id=application_id,
                               approved_amount=money("800.00"), decided_on=date(2020, 3, 1))
    read_models.catch_up()

    def listed(day: str, at: int | None = None) -> list[tuple[str, str, str]]:
        answer = read_models.recipient_statement(rid, effective_on=date.fromisoformat(day),
                                                 at=at)
        return [(a["status"], a["requested"], a["awarded"]) for a in answer["applications"]]

    assert listed("2020-01-31") == []
    assert listed("2020-02-15") == [("submitted", "1000.00", "0.00")]
    assert listed("2020-03-01") == [("approved", "1000.00", "800.00")]
    assert listed("2020-03-01", at=after_submission) == [("submitted", "1000.00", "0.00")]
    assert read_models.recipient_statement(
        rid, effective_on=date(2020, 1, 31))["totals"]["requested"] == "0.00"


def test_an_as_of_list_pages_in_chunks_past_rows_that_did_not_exist_or_differ_then(
    store: tuple[Ledger, ReadModelsImpl],
) -> None:
    """As of a position, a list reads the current rows in id order a chunk at a time
    (projections/state.py `_many_as_of`): rows created later are skipped, and a status
    filter applies to the state then, across chunk boundaries and cursors."""
    ledger, read_models = store
    f = funded_phase(ledger)
    ids = recipients(ledger, 230)
    submit = [ledger.submit_applications(CLERK, applications=[
        NewApplication(f.phase_id, rid, money("100.00"), date(2020, 3, 1))
        for rid in part]) for part in (ids[:90], ids[90:180])]
    first = [a for result in submit for a in result.ids["application_ids"].split(",")]
    for application_id in first[::3]:
        ledger.approve_application(APPROVER, application_id=application_id,
                                   approved_amount=money("100.00"), decided_on=date(2020, 4, 1))
    for application_id in first[2::30]:  # a rare status: read from its history rows
        ledger.reject_application(APPROVER, application_id=application_id, reason="late",
                                  decided_on=date(2020, 4, 1))
    at = ledger.head()[0]
    for application_id in first[1::3]:  # approved after `at`: still submitted then
        ledger.approve_application(APPROVER, application_id=application_id,
                                   approved_amount=money("100.00"), decided_on=date(2020, 4, 2))
    later = ledger.submit_applications(CLERK, applications=[  # did not exist at `at`
        NewApplication(f.phase_id, rid, money("100.00"), date(2020, 3, 1)) for rid in ids[180:]])
    read_models.catch_up()
    assert len(later.ids["application_ids"].split(",")) == 50

    def walk(limit: int, **filters: str) -> list[tuple[str, str]]:
        found, cursor = [], None
        while True:
            page = read_models.applications(phase_id=f.phase_id, at=at, limit=limit,
                                            cursor=cursor, **filters)
            found += [(a["application_id"], a["status"]) for a in page["items"]]
            assert len(page["items"]) <= limit
            if (cursor := page["next_cursor"]) is None:
                return found

    then = {**dict.fromkeys(first, "submitted"), **dict.fromkeys(first[::3], "approved"),
            **dict.fromkeys(first[2::30], "rejected")}
    all_then = sorted(then.items())
    for limit in (1, 7, 99, 100, 101, 1000):
        assert walk(limit) == all_then
        for status in ("submitted", "approved", "rejected", "withdrawn"):
            assert walk(limit, status=status) == [p for p in all_then if p[1] == status]
