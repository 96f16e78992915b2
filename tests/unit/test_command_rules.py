"""Command fields declare their checks (ledger/commands/model/rules.py): every amount and
date of every command is checked when the command is built, with its own field's name."""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import date

import pytest

import ledger.commands  # noqa: F401  # imports every command class
from ledger.commands.model import (
    AmendApplication,
    ApproveApplication,
    CancelDrawdown,
    Command,
    CreateProgramme,
    RecordRepayment,
)
from ledger.commands.model.rules import rules_of
from ledger.errors import ValidationFailed
from ledger.money import Money

# Amounts and dates a command checks in its own check() (SubmitApplication shares the
# rules of a row of SubmitApplications; a carry-over may be zero).
CHECKED_BY_HAND = {
    ("SubmitApplication", "requested_amount"), ("SubmitApplication", "submitted_on"),
    ("CloseFiscalYear", "carry_over"),
}


def commands() -> list[type[Command]]:
    found, todo = [], list(Command.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


def test_every_amount_and_date_of_every_command_has_a_rule() -> None:
    missing = []
    for cls in commands():
        ruled = {name for name, _ in rules_of(cls)}
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            kinds = {hints[f.name], *typing.get_args(hints[f.name])}
            if kinds & {Money, date} and f.name not in ruled \
                    and (cls.__name__, f.name) not in CHECKED_BY_HAND:
                missing.append(f"{cls.__name__}.{f.name}")
    assert len(commands()) >= 20 and missing == []


def test_rules_normalise_in_field_order_and_name_the_field() -> None:
    command = RecordRepayment(application_id="a", amount="12.5", received_on="2020-02-03",
                              reason="  returned  ")

    assert command.amount == Money.parse("12.50")
    assert command.received_on == date(2020, 2, 3)
    assert command.reason == "returned"
    with pytest.raises(ValidationFailed, match=r"^amount: "):
        RecordRepayment(application_id="a", amount="-1.00", received_on="x", reason="")
    with pytest.raises(ValidationFailed, match=r"^received_on: "):
        RecordRepayment(application_id="a", amount="1.00", received_on="3.2.2020", reason="")
    with pytest.raises(ValidationFailed, match="to book a repayment"):
        RecordRepayment(application_id="a", amount="1.00", received_on="2020-02-03",
                        reason=" ")


def test_an_optional_field_is_checked_only_when_given() -> None:
    without = CancelDrawdown(application_id="a", drawdown_id="D1", reason="typo")
    given = CancelDrawdown(application_id="a", drawdown_id="D1", reason="typo",
                           cancelled_on="2020-05-06")

    assert without.cancelled_on is None and given.cancelled_on == date(2020, 5, 6)
    with pytest.raises(ValidationFailed, match=r"^cancelled_on: "):
        CancelDrawdown(application_id="a", drawdown_id="D1", reason="typo", cancelled_on="May")
    assert ApproveApplication(application_id="a", approved_amount="1.00", decided_on=date(
        2020, 1, 1), decision_reference="   ").decision_reference is None


def test_rules_across_fields_still_apply() -> None:
    with pytest.raises(ValidationFailed, match="give at least one"):
        AmendApplication(application_id="a", reason="new plan")
    with pytest.raises(ValidationFailed, match=r"^programme_id: "):
        CreateProgramme(programme_id="no spaces", name="P", funder="F")
    with pytest.raises(ValidationFailed, match=r"^name: at most 200"):
        CreateProgramme(programme_id="p", name="x" * 201, funder="F")


def test_the_fingerprint_is_the_one_of_every_field_as_dataclasses_asdict_gives_it() -> None:
    from ledger.commands.model import (
        NewApplication,
        NewRecipient,
        OpenPhase,
        RegisterRecipients,
        SubmitApplications,
    )

    def reference(command: Command, user: str) -> str:  # the definition, as first written
        import dataclasses
        import hashlib

        import orjson
        return hashlib.sha256(orjson.dumps(
            {"command": command.COMMAND, "user": user, "request": dataclasses.asdict(command)},
            option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()

    commands_ = [
        RecordRepayment(application_id="a", amount="12.50", received_on="2020-02-03",
                        reason="returned"),
        OpenPhase(programme_id="p", phase_id="ph", name="Phase", fiscal_year=2020,
                  envelope="100.00", opens_on="2020-01-01", closes_on="2020-12-31",
                  eligible_kinds=["stadt", "gemeinde"]),
        RegisterRecipients(recipients=[NewRecipient("r1", "Gemeinde A", "gemeinde", 12),
                                       NewRecipient("r2", "Stadt B", "stadt")]),
        SubmitApplications(applications=[NewApplication(
            "ph", "r1", Money.parse("10.00"), date(2020, 3, 1), "DA-1",
            [{"category": "training", "description": "Kurse", "amount": "10.00"}])]),
        CancelDrawdown(application_id="a", drawdown_id="D1", reason="typo"),
    ]
    for command in commands_:
        assert command.fingerprint("ida") == reference(command, "ida")
    assert commands_[0].fingerprint("ida") != commands_[0].fingerprint("fritz")


def test_a_batch_of_applications_names_every_row_that_breaks_its_rules() -> None:
    from ledger.commands.model import NewApplication, SubmitApplications

    rows = [NewApplication("ph", "r1", Money.parse("10.00"), date(2020, 3, 1)),
            NewApplication("ph", "r2", Money.parse("10.00"), date(2020, 3, 1), "x" * 201),
            NewApplication("ph", "r3", Money.parse("10.00"), date(2020, 3, 1),
                           measures=[{"category": "nonsense"}])]

    with pytest.raises(ValidationFailed, match=r"^application 2: reference") as refused:
        SubmitApplications(applications=rows)

    assert [n for n, _ in refused.value.rows] == [1, 2]
