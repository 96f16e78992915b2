"""The reports of `ledger report` as documents (scripts/exports/documents.py `Report`).

Each builder takes the read side's answers (and the log's link at the answer's position,
for the footer's head hash) and lays them out for a reader: German labels, a verdict for
the checks, a kinds × figures table, and charts that each compare like with like.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger import Ledger
from ledger.errors import NotFound
from projections import ReadModelsImpl
from projections.events import decode
from projections.figures import KIND_FIGURES, RECONCILIATION_FIGURES
from scripts.exports import german
from scripts.exports.documents import Chart, Check, Report, Table

Json = dict[str, Any]
# Charts compare like with like: what was granted and bound, apart from what was paid.
PHASE_CHARTS = (("Mittel der Phase: bereitgestellt, beantragt, gebunden",
                 ("envelope", "requested", "awarded", "committed", "available", "outstanding")),
                ("Zahlungen", ("paid", "repaid", "net_paid")))
YEAR_CHARTS = (("Haushalt des Jahres",
                ("appropriation", "carried_in", "funded_to_phases", "direct_expenditure",
                 "unallocated", "lapsed", "carried_out")),
               ("Bindungen aus den Phasen des Jahres",
                ("committed", "phases_available", "outstanding")),
               ("Zahlungen", ("paid_against_year", "paid_in_year", "repaid_in_year")))
PHASE_ORDER = ("envelope", "requested", "awarded", "released", "committed", "available",
               "paid", "repaid", "net_paid", "outstanding")


def _link(ledger: Ledger, position: int) -> tuple[str, str]:
    """(head hash, recorded time) of the event at `position`."""
    records = ledger.chained_recorder.read_log_at([position]) if position else []
    if not records:
        return "0" * 64, ""
    return str(records[0].hash), str(records[0].recorded_at)


def _standing(ledger: Ledger, answer: Json) -> tuple[list[tuple[str, str]], str]:
    head, recorded = _link(ledger, int(answer["position"]))
    meta = [("Stand (erfasst)", f"Log-Position {answer['position']}"
             + (f", erfasst am {german.moment(recorded)}" if recorded else ""))]
    if answer.get("effective_on"):
        meta.append(("Stichtag (Buchungsdatum)",
                     f"Buchungen wirksam bis einschließlich {german.day(answer['effective_on'])}"))
    return meta, head


def _money(answer: Json, names: tuple[str, ...]) -> list[tuple[str, Decimal]]:
    return [(german.label(n), Decimal(answer[n])) for n in names if n in answer]


def _now() -> datetime:
    return datetime.now(UTC)


def phase_totals(ledger: Ledger, read_models: ReadModelsImpl, answer: Json) -> Report:
    at = int(answer["position"])
    phase = read_models.phase(answer["phase_id"], at=at)
    programme = read_models.programme(phase["programme_id"], at=at)
    standing, head = _standing(ledger, answer)
    meta = [("Programm", f"{programme['name']} ({programme['programme_id']})"),
            ("Fördergeber", programme["funder"]),
            ("Phase", f"{phase.get('name') or phase['phase_id']}, Kennung {phase['phase_id']}"),
            ("Haushaltsjahr", str(phase["fiscal_year"])),
            ("Laufzeit", f"{german.day(phase.get('opens_on'))} – "
                         f"{german.day(phase.get('closes_on'))}"),
            *standing]
    kinds = list(answer["by_kind"])
    by_kind = Table("Nach Empfängerart", ["Kennzahl", *(german.label(k, german.KINDS)
                                                       for k in kinds), "Gesamt"],
                    [[german.label(f), *(Decimal(answer["by_kind"][k][f]) for k in kinds),
                      Decimal(answer[f])] for f in KIND_FIGURES])
    tables = [Table("Kennzahlen der Phase", ["Kennzahl", "Betrag"],
                    [[german.label(n), Decimal(answer[n])] for n in PHASE_ORDER]),
              by_kind,
              Table("Anträge nach Status", ["Status", "Anzahl"],
                    [[german.label(s, german.STATUSES), n]
                     for s, n in answer["counts"].items()])]
    if answer["requested_by_category"]:
        tables.append(Table("Beantragt nach Maßnahmenkategorie", ["Kategorie", "Betrag"],
                            [[german.label(c, german.CATEGORIES), Decimal(v)]
                             for c, v in answer["requested_by_category"].items()]))
    return Report(
        title=f"Phasenübersicht {phase.get('name') or phase['phase_id']}",
        subtitle=f"{programme['name']} · {programme['funder']} · Haushaltsjahr "
                 f"{phase['fiscal_year']}",
        meta=meta, position=at, head_hash=head, generated=_now(), tables=tables,
        charts=[Chart(caption, _money(answer, names)) for caption, names in PHASE_CHARTS])


def reconciliation(ledger: Ledger, read_models: ReadModelsImpl, answer: Json) -> Report:
    at = int(answer["position"])
    programme = read_models.programme(answer["programme_id"], at=at)
    year = int(answer["fiscal_year"])
    standing, head = _standing(ledger, answer)
    status = german.label(answer["status"], german.STATUSES)
    if answer.get("closed_on"):
        status += f" am {german.day(answer['closed_on'])}"
    meta = [("Programm", f"{programme['name']} ({programme['programme_id']})"),
            ("Fördergeber", programme["funder"]), ("Haushaltsjahr", f"{year} ({status})"),
            *standing]
    checks = [Check(label, Decimal(c["left"]), Decimal(c["right"]), bool(c["holds"]))
              for label, c in zip(german.CHECKS, answer["checks"], strict=True)]
    figures = [n for n in RECONCILIATION_FIGURES if n in answer]
    return Report(
        title=f"Haushaltsabstimmung {year}",
        subtitle=f"{programme['name']} · {programme['funder']}",
        meta=meta, position=at, head_hash=head, generated=_now(), checks=checks,
        tables=[Table(f"Kennzahlen des Haushaltsjahres {year}", ["Kennzahl", "Betrag"],
                      [[german.label(n), Decimal(answer[n])] for n in figures])],
        charts=[Chart(caption, _money(answer, names)) for caption, names in YEAR_CHARTS])


# -- what changed between two moments ------------------------------------------------------

# The kinds of change by the application's event that makes them: a key for programs (json,
# csv), a German label for people; an amount per event (`_amount`).
KINDS_OF_CHANGE = {
    "Submitted": "submitted", "Approved": "awarded", "AwardAmended": "awarded",
    "DrawdownPaid": "paid", "RepaymentReceived": "repaid", "Closed": "closed",
    "Revoked": "closed", "Withdrawn": "closed", "Rejected": "closed",
}
CHANGE_LABELS = {"submitted": "Neue Anträge", "awarded": "Bewilligungen",
                 "paid": "Auszahlungen", "repaid": "Rückzahlungen", "closed": "Abschlüsse"}
AMOUNT_FIELDS = ("requested_amount", "approved_amount", "amount", "released")
LISTED = 50  # items listed per kind of change; all are counted and summed


@dataclass
class Kind:
    count: int = 0
    total: Decimal = Decimal(0)
    items: list[Json] = field(default_factory=list)


def changes(ledger: Ledger, read_models: ReadModelsImpl, start: int, end: int,
            effective_on: date | None = None) -> Json:
    """Counts, sums and the first items of each kind of change in (start, end], and the
    deltas of every phase's figures between the two positions; with `effective_on`, only
    what was recorded in between about the money of that business date and before (the
    events effective by then, the figures by that date at both positions)."""
    kinds = {name: Kind() for name in CHANGE_LABELS}
    events = 0
    last_day = None if effective_on is None else effective_on.isoformat()
    for e in _events(ledger, start, end):
        if last_day is not None and e.effective_date > last_day:
            continue
        events += 1
        name = KINDS_OF_CHANGE.get(e.event_type) if e.aggregate == "Application" else None
        if name is None:
            continue
        amount = _amount(e)
        kind = kinds[name]
        kind.count += 1
        kind.total += amount
        if len(kind.items) < LISTED:
            kind.items.append({"position": e.position, "event_type": e.event_type,
                               "originator_id": e.originator_id,
                               "effective_date": e.effective_date, "amount": f"{amount:.2f}"})
    names: dict[str, str] = {}
    for kind in kinds.values():
        for item in kind.items:
            application: Any = ledger.repository.get(UUID(item.pop("originator_id")))
            item["application_id"] = str(application.application_id)
            item["reference"] = application.reference
            item["recipient_id"] = str(application.recipient_id)
            if item["recipient_id"] not in names:
                names[item["recipient_id"]] = str(
                    read_models.recipient(item["recipient_id"], at=end)["name"])
            item["recipient"] = names[item["recipient_id"]]
    phases = []
    for phase_id in read_models.phase_ids(at=end):
        before = _totals(read_models, phase_id, start, effective_on)
        after = _totals(read_models, phase_id, end, effective_on)
        phases.append({"phase_id": phase_id, "figures": {
            name: {"before": before.get(name, "0.00"), "after": after[name],
                   "delta": f"{Decimal(after[name]) - Decimal(before.get(name, '0.00')):.2f}"}
            for name in PHASE_ORDER}})
    return {"from": start, "to": end, "events": events,
            "changes": {name: {"label": CHANGE_LABELS[name], "count": k.count,
                               "total": f"{k.total:.2f}", "items": k.items}
                        for name, k in kinds.items()},
            "phases": phases, "position": end,
            **({"effective_on": last_day} if last_day is not None else {})}


def _amount(e: Any) -> Decimal:
    """What the event adds to its kind's total: an amendment its change of the award (the
    new amount less the previous: so the awards' total is the change of `awarded`)."""
    if e.event_type == "AwardAmended":
        return Decimal(str(e.field("new_amount"))) - Decimal(str(e.field("previous_amount")))
    return next((Decimal(str(e.field(f))) for f in AMOUNT_FIELDS if e.field(f) is not None),
                Decimal(0))


def _events(ledger: Ledger, start: int, end: int) -> Iterator[Any]:
    after = start
    while True:
        records = ledger.chained_recorder.read_log(after=after, limit=2000, upto=end)
        if not records:
            return
        yield from decode(ledger, records)
        after = records[-1].position


def _totals(read_models: ReadModelsImpl, phase_id: str, at: int,
            effective_on: date | None = None) -> Json:
    try:
        return read_models.phase_totals(phase_id, at=at, effective_on=effective_on)
    except NotFound:  # the phase did not exist yet
        return {}


def changes_report(ledger: Ledger, answer: Json) -> Report:
    start, end = int(answer["from"]), int(answer["to"])
    _, since = _link(ledger, start)
    head, until = _link(ledger, end)
    meta = [("Von", f"Log-Position {start}" + (f", erfasst am {german.moment(since)}"
                                               if since else "")),
            ("Bis", f"Log-Position {end}" + (f", erfasst am {german.moment(until)}"
                                             if until else "")),
            ("Ereignisse dazwischen", german.number(int(answer["events"])))]
    if answer.get("effective_on"):
        meta.append(("Wirksam bis", german.day(answer["effective_on"])))
    tables = [Table("Änderungen nach Art", ["Art", "Anzahl", "Summe"],
                    [[c["label"], int(c["count"]), Decimal(c["total"])]
                     for c in answer["changes"].values()])]
    for c in answer["changes"].values():
        if c["items"]:
            shown = (f" (die ersten {len(c['items'])} von {german.number(c['count'])})"
                     if c["count"] > len(c["items"]) else "")
            tables.append(Table(f"{c['label']}{shown}", ["Empfänger · Antrag", "Position",
                                                   "Wirksam am", "Betrag"],
                                [[f"{i['recipient']} · {i['reference'] or i['application_id']}",
                                  str(i["position"]), german.day(i["effective_date"]),
                                  Decimal(i["amount"])] for i in c["items"]]))
    for phase in answer["phases"]:
        tables.append(Table(f"Phase {phase['phase_id']}: Kennzahlen vorher und nachher",
                            ["Kennzahl", "Vorher", "Nachher", "Änderung"],
                            [[german.label(n), Decimal(f["before"]), Decimal(f["after"]),
                              Decimal(f["delta"])] for n, f in phase["figures"].items()]))
    return Report(title=f"Änderungen zwischen Log-Position {start} und {end}",
                  subtitle="Was sich seit dem letzten Bericht geändert hat",
                  meta=meta, position=end, head_hash=head, generated=_now(), tables=tables)
