"""`ledger report` as a document: xlsx (openpyxl), html (inline SVG chart) and pdf (fpdf2).

Each renderer takes the report's (figure, value) rows and a title and returns bytes. The
chart shows the top-level money figures (rows whose value is an amount and whose name
has no qualifier such as `gemeinde:` or `check`). Amounts stay Decimal/strings; only the
pdf's drawing coordinates become floats, at the drawing call.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Protocol

from fpdf import FPDF
from openpyxl import Workbook

from projections.cells import safe_text

Rows = list[tuple[str, str]]
MONEY_FORMAT = "#,##0.00"
_BAR = Decimal(400)  # the longest bar, in SVG px
_PDF_MM_PER_PX = 0.28  # the longest pdf bar is 112 mm, leaving room for its label


def money(value: str) -> Decimal | None:
    """The amount in `value` ("123.45"), or None if it is no amount."""
    if "." not in value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def chart_rows(rows: Rows) -> list[tuple[str, Decimal]]:
    bars = [(name, money(value)) for name, value in rows
            if ":" not in name and not name.startswith("check")]
    return [(name, amount) for name, amount in bars if amount is not None and amount >= 0]


def _lengths(bars: list[tuple[str, Decimal]]) -> list[Decimal]:
    top = max((amount for _, amount in bars), default=Decimal(0)) or Decimal(1)
    return [(amount * _BAR / top).quantize(Decimal("0.1")) for _, amount in bars]


def xlsx(rows: Rows, *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "report"
    sheet.append([title])
    sheet.append(["figure", "value"])
    for name, value in rows:
        amount = money(value)
        sheet.append([safe_text(name), amount if amount is not None else _plain(value)])
        if amount is not None:
            sheet.cell(row=sheet.max_row, column=2).number_format = MONEY_FORMAT
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["B"].width = 20
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _plain(value: str) -> str | int:
    # openpyxl stores a string that begins with "=" as a formula: neutralise it.
    return int(value) if value.isdigit() else safe_text(value)


def svg(rows: Rows) -> str:
    """A horizontal bar chart of the money figures, as an inline <svg> element."""
    bars = chart_rows(rows)
    row_height, label_width = 22, 160
    width, height = label_width + int(_BAR) + 120, row_height * len(bars) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="money figures">']
    for n, ((name, amount), length) in enumerate(zip(bars, _lengths(bars), strict=True)):
        y = 5 + n * row_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row_height - 6}" '
            f'fill="#3b6ea5"><title>{escape(name)}: {amount}</title></rect>'
            f'<text x="{label_width + length + Decimal(6)}" y="{y + 15}">{amount}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html(rows: Rows, *, title: str) -> bytes:
    body = "".join(f'<tr><td>{escape(name)}</td><td class="n">{escape(value)}</td></tr>'
                   for name, value in rows)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px}}
.n{{text-align:right;font-variant-numeric:tabular-nums}}
svg text{{font-size:12px;font-family:sans-serif}}</style></head>
<body><h1>{escape(title)}</h1>
<figure>{svg(rows)}</figure>
<table><thead><tr><th>figure</th><th>value</th></tr></thead><tbody>{body}</tbody></table>
</body></html>
"""
    return page.encode("utf-8")


def pdf(rows: Rows, *, title: str) -> bytes:
    document = FPDF()
    document.set_compression(False)  # keep the figures searchable as plain text
    document.add_page()
    document.set_font("helvetica", "B", 14)
    document.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    document.set_font("helvetica", size=9)
    bars = chart_rows(rows)
    top = document.get_y() + 2
    for n, ((name, amount), length) in enumerate(zip(bars, _lengths(bars), strict=True)):
        y = top + n * 6
        document.set_xy(10, y)
        document.cell(45, 5, _latin1(name), align="R")
        document.set_fill_color(59, 110, 165)
        # drawing coordinates only: fpdf2 wants floats, the amount itself stays a Decimal
        bar_mm = float(length) * _PDF_MM_PER_PX
        document.rect(57, y + 0.5, bar_mm, 4, style="F")
        document.set_xy(59 + bar_mm, y)
        document.cell(30, 5, str(amount))
    document.set_xy(10, top + len(bars) * 6 + 6)
    for name, value in rows:
        document.cell(110, 5, _latin1(name), border=1)
        document.cell(60, 5, _latin1(value), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _latin1(text: str) -> str:
    """The pdf core fonts are Latin-1; anything else becomes '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


class Renderer(Protocol):
    def __call__(self, rows: Rows, *, title: str) -> bytes: ...


RENDERERS: dict[str, Renderer] = {"xlsx": xlsx, "html": html, "pdf": pdf}
