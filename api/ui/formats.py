"""German (and English) formats and labels for the dashboard: 1.234.567,89 €, 31.12.2020.

Money arrives from the read models as "1234567.89" strings and is only reformatted,
never turned into a float. Recorded times are shown in Berlin time, the time of the
people who read them; the as-of control reads a local time in the same zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGS = ("de", "en")


def known_lang(value: str | None) -> str:
    """`value` if it is a language of the dashboard, else German."""
    return value if value in LANGS else "de"
try:
    LOCAL = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # a system without tzdata: stay correct, in UTC
    LOCAL = ZoneInfo("UTC")

NBSP = "\u00a0"


class OutOfRange(ValueError):
    """Raised by `from_local` for a date and time that has no UTC time (year 0 or 10000)."""


def money(value: object, lang: str = "de") -> str:
    """'1234567.89' → '1.234.567,89 €' (de) or '€1,234,567.89' (en)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{abs(amount):,.2f}"
    sign = "−" if amount < 0 else ""
    if lang == "en":
        return f"{sign}€{text}"
    return f"{sign}{text.replace(',', ' ').replace('.', ',').replace(' ', '.')}{NBSP}€"


def number(value: object, lang: str = "de") -> str:
    text = f"{int(str(value)):,}"
    return text.replace(",", ".") if lang == "de" else text


def day(value: object, lang: str = "de") -> str:
    """'2020-12-31' → '31.12.2020' (de) or '2020-12-31' (en); empty for None."""
    if not value:
        return ""
    try:
        parsed = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return parsed.strftime("%d.%m.%Y") if lang == "de" else parsed.isoformat()


def moment(value: object, lang: str = "de") -> str:
    """A recorded time (ISO, UTC) in Berlin time: '26.11.2026, 07:40:12'."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    local = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(LOCAL)
    return local.strftime("%d.%m.%Y, %H:%M:%S" if lang == "de" else "%Y-%m-%d %H:%M:%S")


def local_input(value: object) -> str:
    """A recorded time as the value of an <input type=datetime-local> (Berlin time)."""
    if not value:
        return ""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    local = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(LOCAL)
    return local.strftime("%Y-%m-%dT%H:%M:%S")


def from_local(text: str) -> datetime:
    """The value of a datetime-local input (Berlin time, or with an offset) as UTC.

    Raises ValueError for text that is not a date and time, and OutOfRange (a ValueError)
    for one that has no UTC time (0001-01-01T00:00 in Berlin is in year 0): the callers
    answer both as a 422.
    """
    parsed = datetime.fromisoformat(text)
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL)).astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"out of range: {text}") from None
