"""Cells safe to open in a spreadsheet: every CSV and xlsx the product writes uses these.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as
a formula by Excel and LibreOffice (CSV injection). As OWASP recommends, such a cell is
prefixed with a single quote, which shows the text and evaluates nothing. Numbers stay
numbers: a signed amount such as `-5.00` is not text and passes unchanged.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def safe_text(text: str) -> str:
    """`text` with a leading quote if a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def safe_cell(value: Any) -> Any:
    """A cell value: text neutralised by `safe_text`, anything else unchanged."""
    return safe_text(value) if isinstance(value, str) else value
