"""German formats and labels for the documents people hand around (DIN 5008 style).

Amounts are `Decimal` (or the read side's "1234.50" strings) and stay so: 1.234.567,89 €,
with a no-break space before the euro sign so an amount never breaks across lines.
Dates are 31.12.2020; recorded moments 26.11.2026, 07:01 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.vocabulary import CHECK_NAMES, FIGURE_NAMES, MEASURE_CATEGORY_NAMES

NBSP = "\u00a0"

# The figures as the dashboard names them too (ledger/vocabulary.py).
FIGURES = {name: names[0] for name, names in FIGURE_NAMES.items()}
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
CHECKS = tuple(names[0] for names in CHECK_NAMES)


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
