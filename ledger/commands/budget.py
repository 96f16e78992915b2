"""Programmes, yearly budgets, phases and recipients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.commands import validate
from ledger.core import CommandResult, Decision, LedgerCore, today
from ledger.domain.base import Actor
from ledger.domain.phase import RECIPIENT_KINDS, Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import AlreadyExists, ValidationFailed
from ledger.money import Money


@dataclass(frozen=True)
class NewRecipient:
    recipient_id: str
    name: str
    kind: str
    population: int | None = None
    district_id: str | None = None


class BudgetCommands(LedgerCore):
    def create_programme(
        self, actor: Actor, *, programme_id: str, name: str, funder: str
    ) -> CommandResult:
        validate.identifier(programme_id, field="programme_id")
        name = validate.text(name, field="name", limit=200)
        funder = validate.text(funder, field="funder", limit=200)

        def decide() -> Decision:
            if self._exists(Programme.id_for(programme_id)):
                raise AlreadyExists(f"programme {programme_id} already exists")
            programme = Programme.start(
                Programme.Registered,
                actor,
                id=Programme.id_for(programme_id),
                effective_date=today(),
                programme_id=programme_id,
                name=name,
                funder=funder,
            )
            return Decision([programme], {"programme_id": programme_id})

        request = {"programme_id": programme_id, "name": name, "funder": funder}
        return self._execute(actor, "create_programme", request, decide)

    def appropriate_budget(
        self,
        actor: Actor,
        *,
        programme_id: str,
        fiscal_year: int,
        amount: Money,
        effective_date: date,
    ) -> CommandResult:
        validate.fiscal_year(fiscal_year)
        amount = validate.positive(amount, field="amount")

        def decide() -> Decision:
            programme = self.programme(programme_id)
            programme.appropriate(
                actor, fiscal_year=fiscal_year, amount=amount, effective_date=effective_date
            )
            return Decision([programme], {"programme_id": programme_id})

        request = {"programme_id": programme_id, "fiscal_year": fiscal_year,
                   "amount": str(amount), "effective_date": effective_date}
        return self._execute(actor, "appropriate_budget", request, decide)

    def amend_budget(
        self,
        actor: Actor,
        *,
        programme_id: str,
        fiscal_year: int,
        new_amount: Money,
        reason: str,
        effective_date: date,
    ) -> CommandResult:
        new_amount = validate.positive(new_amount, field="new_amount")
        reason = validate.required_reason(reason, what="amend a budget")

        def decide() -> Decision:
            programme = self.programme(programme_id)
            programme.amend_budget(
                actor,
                fiscal_year=fiscal_year,
                new_amount=new_amount,
                reason=reason,
                effective_date=effective_date,
            )
            return Decision([programme], {"programme_id": programme_id})

        request = {"programme_id": programme_id, "fiscal_year": fiscal_year,
                   "new_amount": str(new_amount), "reason": reason,
                   "effective_date": effective_date}
        return self._execute(actor, "amend_budget", request, decide)

    def record_direct_expenditure(
        self,
        actor: Actor,
        *,
        programme_id: str,
        fiscal_year: int,
        amount: Money,
        paid_on: date,
        payee: str,
        purpose: str,
    ) -> CommandResult:
        amount = validate.positive(amount, field="amount")
        payee = validate.text(payee, field="payee", limit=200)
        purpose = validate.text(purpose, field="purpose", limit=1000)

        def decide() -> Decision:
            programme = self.programme(programme_id)
            programme.spend_directly(
                actor,
                fiscal_year=fiscal_year,
                amount=amount,
                paid_on=paid_on,
                payee=payee,
                purpose=purpose,
            )
            return Decision([programme], {"programme_id": programme_id})

        request = {"programme_id": programme_id, "fiscal_year": fiscal_year,
                   "amount": str(amount), "paid_on": paid_on, "payee": payee,
                   "purpose": purpose}
        return self._execute(actor, "record_direct_expenditure", request, decide)

    def close_fiscal_year(
        self,
        actor: Actor,
        *,
        programme_id: str,
        fiscal_year: int,
        closed_on: date,
        carry_over: Money | None = None,
    ) -> CommandResult:
        carry = Money.parse(carry_over or Money.zero(), field="carry_over")
        if carry.amount < 0:
            raise ValidationFailed("carry_over: must not be negative")

        def decide() -> Decision:
            programme = self.programme(programme_id)
            programme.close_year(
                actor, fiscal_year=fiscal_year, closed_on=closed_on, carry_over=carry
            )
            return Decision([programme], {"programme_id": programme_id})

        request = {"programme_id": programme_id, "fiscal_year": fiscal_year,
                   "closed_on": closed_on, "carry_over": str(carry)}
        return self._execute(actor, "close_fiscal_year", request, decide)

    def open_phase(
        self,
        actor: Actor,
        *,
        programme_id: str,
        phase_id: str,
        name: str,
        fiscal_year: int,
        envelope: Money,
        opens_on: date,
        closes_on: date,
        eligible_kinds: list[str],
        max_open_per_recipient: int = 1,
    ) -> CommandResult:
        """Opens a phase and funds its envelope from the year's budget (I2)."""
        validate.identifier(phase_id, field="phase_id")
        name = validate.text(name, field="name", limit=200)
        validate.fiscal_year(fiscal_year)
        envelope = validate.positive(envelope, field="envelope")
        if closes_on < opens_on:
            raise ValidationFailed("closes_on: must not be before opens_on")
        kinds = sorted(set(eligible_kinds))
        if not kinds or any(kind not in RECIPIENT_KINDS for kind in kinds):
            raise ValidationFailed(
                f"eligible_kinds: one or more of {', '.join(RECIPIENT_KINDS)}"
            )
        if not 1 <= max_open_per_recipient <= 1000:
            raise ValidationFailed("max_open_per_recipient: between 1 and 1000")

        def decide() -> Decision:
            if self._exists(Phase.id_for(phase_id)):
                raise AlreadyExists(f"phase {phase_id} already exists")
            programme = self.programme(programme_id)
            programme.fund_phase(
                actor,
                fiscal_year=fiscal_year,
                phase_id=phase_id,
                amount=envelope,
                effective_date=opens_on,
            )
            phase = Phase.start(
                Phase.Opened,
                actor,
                id=Phase.id_for(phase_id),
                effective_date=opens_on,
                phase_id=phase_id,
                programme_id=programme_id,
                name=name,
                fiscal_year=fiscal_year,
                envelope=envelope,
                opens_on=opens_on,
                closes_on=closes_on,
                eligible_kinds=kinds,
                max_open_per_recipient=max_open_per_recipient,
            )
            return Decision([programme, phase], {"phase_id": phase_id})

        request = {"programme_id": programme_id, "phase_id": phase_id, "name": name,
                   "fiscal_year": fiscal_year, "envelope": str(envelope),
                   "opens_on": opens_on, "closes_on": closes_on,
                   "eligible_kinds": kinds, "max": max_open_per_recipient}
        return self._execute(actor, "open_phase", request, decide)

    def register_recipients(
        self, actor: Actor, *, recipients: list[NewRecipient]
    ) -> CommandResult:
        """Registers one or many recipients, all or nothing."""
        if not recipients:
            raise ValidationFailed("recipients: at least one")
        seen: set[str] = set()
        for n, r in enumerate(recipients):
            validate.identifier(r.recipient_id, field=f"recipients[{n}].recipient_id")
            validate.text(r.name, field=f"recipients[{n}].name", limit=200)
            if r.kind not in RECIPIENT_KINDS:
                raise ValidationFailed(
                    f"recipients[{n}].kind: one of {', '.join(RECIPIENT_KINDS)}"
                )
            if r.population is not None and not 0 <= r.population <= 10**9:
                raise ValidationFailed(f"recipients[{n}].population: 0 to 10^9")
            if r.district_id is not None:
                validate.identifier(r.district_id, field=f"recipients[{n}].district_id")
            if r.recipient_id in seen:
                raise ValidationFailed(f"recipients: {r.recipient_id} appears twice")
            seen.add(r.recipient_id)

        def decide() -> Decision:
            taken = [r.recipient_id for r in recipients
                     if self._exists(Recipient.id_for(r.recipient_id))]
            if taken:
                raise AlreadyExists(f"recipients already registered: {', '.join(taken[:20])}")
            created = [
                Recipient.start(
                    Recipient.Registered,
                    actor,
                    id=Recipient.id_for(r.recipient_id),
                    effective_date=today(),
                    recipient_id=r.recipient_id,
                    name=r.name.strip(),
                    kind=r.kind,
                    population=r.population,
                    district_id=r.district_id,
                )
                for r in recipients
            ]
            return Decision(list(created), {"count": str(len(created))})

        request = {"recipients": [vars(r) for r in recipients]}
        return self._execute(actor, "register_recipients", request, decide)
