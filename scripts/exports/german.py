"""German formats and labels for the documents people hand around (DIN 5008 style).

Amounts are `Decimal` (or the read side's "1234.50" strings) and stay so: 1.234.567,89 €,
with a no-break space before the euro sign so an amount never breaks across lines.
Dates are 31.12.2020; recorded moments 26.11.2026, 07:01 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.vocabulary import MEASURE_CATEGORY_NAMES

NBSP = "\u00a0"

FIGURES = {
    # phase totals
    "envelope": "Fördervolumen der Phase", "requested": "Beantragt", "awarded": "Bewilligt",
    "released": "Freigegeben (nicht mehr gebunden)", "committed": "Gebunden",
    "available": "Verfügbar", "paid": "Ausgezahlt", "repaid": "Zurückgezahlt",
    "net_paid": "Ausgezahlt netto", "outstanding": "Bewilligt, noch nicht ausgezahlt",
    # yearly reconciliation
    "appropriation": "Haushaltsansatz", "carried_in": "Übertrag aus dem Vorjahr",
    "funded_to_phases": "Den Phasen zugewiesen", "direct_expenditure": "Direkte Ausgaben",
    "unallocated": "Nicht zugewiesen", "phases_available": "In den Phasen verfügbar",
    "paid_against_year": "Ausgezahlt zulasten des Jahres", "paid_in_year": "Ausgezahlt im Jahr",
    "repaid_in_year": "Rückzahlungen im Jahr", "lapsed": "Verfallen",
    "carried_out": "Übertrag ins Folgejahr", "trial_balance": "Summe aller Buchungen",
    "balance": "Noch auszuzahlen",
}
STATUSES = {
    "submitted": "eingereicht", "approved": "bewilligt", "rejected": "abgelehnt",
    "withdrawn": "zurückgezogen", "closed": "abgeschlossen", "revoked": "widerrufen",
    "open": "offen",
}
KINDS = {
    "gemeinde": "Gemeinde", "stadt": "Stadt", "kreisfreie_stadt": "Kreisfreie Stadt",
    "landkreis": "Landkreis",
}
# The measure categories (SPEC §4) as the dashboard names them: one word for each.
CATEGORIES = {str(category): names[0] for category, names in MEASURE_CATEGORY_NAMES.items()}
# The five checks of a yearly reconciliation (projections/totals.py `reconciliation`).
CHECKS = (
    "Ansatz + Übertrag aus dem Vorjahr = den Phasen zugewiesen + direkte Ausgaben + "
    "nicht zugewiesen + verfallen + Übertrag ins Folgejahr",
    "Den Phasen zugewiesen = gebunden + Σ verfügbar in den Phasen des Jahres",
    "Gebunden = ausgezahlt zulasten des Jahres + bewilligt, noch nicht ausgezahlt",
    "Ausgezahlt zulasten des Jahres = Σ ausgezahlt der Anträge des Jahres",
    "Summe aller Buchungen = 0,00 €",
)


def label(name: str, labels: dict[str, str] = FIGURES) -> str:
    """The German label of a figure (or status, or kind); unknown names readable as they are."""
    return labels.get(name, name.replace("_", " ").capitalize())


def euro(amount: Decimal | str) -> str:
    """1.234.567,89 € (a minus sign in front of negative amounts)."""
    value = Decimal(amount).quantize(Decimal("0.01"))
    whole, _, cents = f"{abs(value):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    sign = "−" if value < 0 else ""
    return f"{sign}{'.'.join([whole, *groups])},{cents}{NBSP}€"


def number(count: int) -> str:
    return f"{count:,}".replace(",", ".")


def day(value: date | str | None) -> str:
    """31.12.2020 (an ISO date or a date); an empty string for none."""
    if value is None:
        return ""
    parsed = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return parsed.strftime("%d.%m.%Y")


def moment(value: datetime | str) -> str:
    """26.11.2026, 07:01 UTC (a recorded time or the time a document was made)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) \
        else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%d.%m.%Y, %H:%M UTC")
