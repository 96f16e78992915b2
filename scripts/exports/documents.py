"""`ledger report` as a document to hand around: pdf (fpdf2), html (inline SVG) and xlsx.

A `Report` says what a reader needs, whatever the format: a title naming the programme,
funder, year or phase and dates (`meta`), a verdict per check, tables (a kinds × figures
table among them) and charts that each compare like with like (budgets apart from cash
flows). Every page is footed with the log position, the head hash there, the time it was
made and its page number, so a printed report can be checked with `ledger verify --digest
POS:HASH`. German labels and formats (scripts/exports/german.py); the pdf embeds DejaVu
Sans (shipped beside this module, Bitstream Vera licence in fonts/LICENSE), which has every
glyph used (€, Σ, −, ✓, ✗, umlauts). Amounts stay Decimal/strings; only the drawing
coordinates become floats, at the drawing call.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from html import escape
from importlib import resources
from typing import Protocol

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from rich.console import Console
from rich.table import Table as RichTable

from projections.cells import safe_text
from scripts.exports import german

MONEY_FORMAT = '#,##0.00 "€"'
_BAR_PX = 360  # the longest bar, in SVG px
_BAR_MM = 80  # and in the pdf


@dataclass(frozen=True)
class Check:
    label: str
    left: Decimal
    right: Decimal
    holds: bool


Cell = str | Decimal | int  # an amount (Decimal, euros) or a count is formatted per format


@dataclass(frozen=True)
class Table:
    """Text in the first column, the rest right-aligned: amounts and counts are formatted
    in German for pdf and html, and stay numbers in xlsx."""

    caption: str
    header: list[str]
    rows: list[list[Cell]]


def text(cell: Cell) -> str:
    if isinstance(cell, Decimal):
        return german.euro(cell)
    return german.number(cell) if isinstance(cell, int) else cell


@dataclass(frozen=True)
class Chart:
    caption: str
    bars: list[tuple[str, Decimal]]


@dataclass
class Report:
    title: str
    subtitle: str
    meta: list[tuple[str, str]]
    position: int
    head_hash: str
    generated: datetime
    checks: list[Check] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def footer(self) -> str:
        return (f"Log-Position {self.position} · Kopf-Hash {self.head_hash} · "
                f"erstellt {german.moment(self.generated)}")

    def verdict(self) -> str:
        failed = [n for n, c in enumerate(self.checks, 1) if not c.holds]
        if not failed:
            return f"Alle {len(self.checks)} Prüfungen erfüllt"
        return f"NICHT ERFÜLLT: Prüfung {', '.join(map(str, failed))}"


def _lengths(bars: list[tuple[str, Decimal]], longest: int) -> list[Decimal]:
    top = max((abs(amount) for _, amount in bars), default=Decimal(0)) or Decimal(1)
    return [(abs(amount) * longest / top).quantize(Decimal("0.1")) for _, amount in bars]


# -- html ----------------------------------------------------------------------------------


def svg(chart: Chart) -> str:
    """A horizontal bar chart of like amounts, as an inline <svg> element."""
    row_height, label_width = 24, 250
    width, height = label_width + _BAR_PX + 130, row_height * len(chart.bars) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.caption)}">']
    for n, ((name, amount), length) in enumerate(
            zip(chart.bars, _lengths(chart.bars, _BAR_PX), strict=True)):
        y = 4 + n * row_height
        value = german.euro(amount)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="{row_height - 8}" '
            f'fill="#1f5a96"><title>{escape(name)}: {value}</title></rect>'
            f'<text x="{label_width + length + 6}" y="{y + 16}">{escape(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:2em auto;max-width:60em;color:#1a1a1a}
h1{font-size:1.5em;margin-bottom:.1em}p.sub{margin-top:0;color:#333}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:bold}
dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5em 0 1.5em}caption{text-align:left;font-weight:bold;
padding:.3em 0}td,th{border:1px solid #999;padding:3px 8px;vertical-align:top}
th{background:#e8eef5;text-align:left}tbody th{font-weight:normal;background:none}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.verdict{border:2px solid;padding:.5em 1em;margin:1em 0}.verdict.ok{border-color:#17612e;
background:#eaf6ee}.verdict.bad{border-color:#a11;background:#fbeaea}
.verdict li{margin:.3em 0}.holds{color:#17612e;font-weight:bold}.fails{color:#a11;
font-weight:bold}
svg text{font-size:13px;font-family:"DejaVu Sans",Verdana,sans-serif;fill:#1a1a1a}
footer{margin-top:2em;border-top:1px solid #999;padding-top:.5em;font-size:.85em;
overflow-wrap:anywhere}
@page{size:A4;margin:18mm 15mm 20mm;@bottom-center{content:"Seite " counter(page) " von "
counter(pages);font-size:8pt}}
"""


def html(report: Report) -> bytes:
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in report.meta)
    parts = [f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report.title)}</title><style>{_CSS}</style></head>
<body><header><h1>{escape(report.title)}</h1><p class="sub">{escape(report.subtitle)}</p>
<dl>{meta}</dl></header><main>"""]
    if report.checks:
        ok = all(c.holds for c in report.checks)
        items = "".join(
            f'<li><span class="{"holds" if c.holds else "fails"}">'
            f'{"✓ erfüllt" if c.holds else "✗ NICHT erfüllt"}</span> Prüfung {n}: '
            f"{escape(c.label)} ({escape(german.euro(c.left))} = "
            f"{escape(german.euro(c.right))})</li>"
            for n, c in enumerate(report.checks, 1))
        parts.append(f'<section class="verdict {"ok" if ok else "bad"}" aria-label="Prüfungen">'
                     f"<h2>{escape(report.verdict())}</h2><ol>{items}</ol></section>")
    for chart in report.charts:
        parts.append(f"<figure><figcaption><strong>{escape(chart.caption)}</strong>"
                     f"</figcaption>{svg(chart)}</figure>")
    for table in report.tables:
        head = "".join(f'<th scope="col"{"" if n == 0 else " class=n"}>{escape(h)}</th>'
                       for n, h in enumerate(table.header))
        body = "".join(
            "<tr>" + "".join(f'<th scope="row">{escape(text(c))}</th>' if n == 0
                             else f'<td class="n">{escape(text(c))}</td>'
                             for n, c in enumerate(row))
            + "</tr>" for row in table.rows)
        parts.append(f"<table><caption>{escape(table.caption)}</caption><thead><tr>{head}"
                     f"</tr></thead><tbody>{body}</tbody></table>")
    parts += [f"<p>{escape(note)}</p>" for note in report.notes]
    parts.append(f"</main><footer>{escape(report.footer())}</footer></body></html>\n")
    return "".join(parts).encode("utf-8")


# -- pdf -----------------------------------------------------------------------------------


class _Document(FPDF):
    def __init__(self, report: Report) -> None:
        super().__init__(format="A4")
        self.report = report
        fonts = resources.files("scripts.exports") / "fonts"
        with resources.as_file(fonts / "DejaVuSans.ttf") as regular, \
                resources.as_file(fonts / "DejaVuSans-Bold.ttf") as bold:
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=22)
        self.set_compression(False)  # keep the text searchable as it is
        self.set_title(report.title)
        self.set_lang("de-DE")
        self.set_creator("Program Ledger")

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font("DejaVu", size=6.5)
        self.set_text_color(60, 60, 60)
        r = self.report
        self.cell(0, 3.5, f"Log-Position {r.position} · Kopf-Hash {r.head_hash}",
                  new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 3.5, f"erstellt {german.moment(r.generated)} · "
                          f"Seite {self.page_no()} von {{nb}}", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)


def pdf(report: Report) -> bytes:
    doc = _Document(report)
    doc.add_page()
    doc.set_font("DejaVu", "B", 15)
    doc.multi_cell(0, 7, report.title, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=10)
    doc.multi_cell(0, 5, report.subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.set_font("DejaVu", size=8.5)
    with doc.table(col_widths=(45, 135), first_row_as_headings=False, borders_layout="NONE",
                   line_height=4.5, padding=0.5) as table:
        for key, value in report.meta:
            row = table.row()
            row.cell(key, style=FontFace(emphasis="BOLD"))
            row.cell(value)
    if report.checks:
        _verdict(doc, report)
    for chart in report.charts:
        _chart(doc, chart)
    for t in report.tables:
        _table(doc, t)
    doc.set_font("DejaVu", size=8.5)
    for note in report.notes:
        doc.multi_cell(0, 4.5, note, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _verdict(doc: FPDF, report: Report) -> None:
    ok = all(c.holds for c in report.checks)
    doc.ln(3)
    colour = (23, 97, 46) if ok else (170, 17, 17)
    doc.set_draw_color(*colour)
    doc.set_fill_color(*((234, 246, 238) if ok else (251, 234, 234)))
    top = doc.get_y()
    doc.set_font("DejaVu", "B", 11)
    doc.set_text_color(*colour)
    doc.set_x(18)
    doc.multi_cell(174, 6, report.verdict(), align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0, 0, 0)
    doc.set_font("DejaVu", size=8.5)
    for n, c in enumerate(report.checks, 1):
        doc.set_x(18)
        mark = "✓ erfüllt" if c.holds else "✗ NICHT erfüllt"
        doc.multi_cell(174, 4.5, f"{mark} · Prüfung {n}: {c.label}\n"
                       f"{german.euro(c.left)} = {german.euro(c.right)}",
                       align="L", new_x="LMARGIN", new_y="NEXT")
        doc.ln(1)
    doc.rect(15, top - 1, 180, doc.get_y() - top + 1, style="D")
    doc.set_draw_color(0, 0, 0)
    doc.ln(3)


def _chart(doc: FPDF, chart: Chart) -> None:
    needed = 10 + 6 * len(chart.bars)
    if doc.get_y() + needed > doc.h - 22:
        doc.add_page()
    doc.ln(2)
    doc.set_font("DejaVu", "B", 10)
    doc.cell(0, 6, chart.caption, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=8)
    top = doc.get_y()
    doc.set_fill_color(31, 90, 150)
    for n, ((name, amount), length) in enumerate(
            zip(chart.bars, _lengths(chart.bars, _BAR_MM), strict=True)):
        y = top + n * 6
        doc.set_xy(15, y)
        size = 8.0
        while doc.get_string_width(name) > 61 and size > 5:  # a long label shrinks, never spills
            size -= 0.5
            doc.set_font_size(size)
        doc.cell(62, 5, name, align="R")
        doc.set_font_size(8)
        bar_mm = float(length)  # drawing coordinates only: the amount stays a Decimal
        if bar_mm:
            doc.rect(79, y + 0.7, bar_mm, 3.6, style="F")
        doc.set_xy(80 + bar_mm, y)
        doc.cell(34, 5, german.euro(amount))
    doc.set_xy(15, top + 6 * len(chart.bars) + 2)


def _table(doc: FPDF, table: Table) -> None:
    doc.ln(2)
    doc.set_font("DejaVu", "B", 10)
    if doc.get_y() + 20 > doc.h - 22:
        doc.add_page()
    doc.multi_cell(0, 6, table.caption, align="L", new_x="LMARGIN", new_y="NEXT")
    columns = len(table.header)
    doc.set_font("DejaVu", size=8 if columns <= 4 else 7)
    first = {2: 120, 3: 90, 4: 75}.get(columns, 40)
    widths = (first, *([(180 - first) / (columns - 1)] * (columns - 1)))
    doc.set_fill_color(255, 255, 255)
    with doc.table(col_widths=widths, text_align=("LEFT", *(["RIGHT"] * (columns - 1))),
                   line_height=4.2, padding=(0.8, 1.2), width=180, cell_fill_mode="ROWS",
                   cell_fill_color=(243, 246, 250),
                   headings_style=FontFace(emphasis="BOLD", fill_color=(222, 230, 240))) as t:
        t.row(table.header)
        for cells in table.rows:
            t.row([text(c) for c in cells])
    doc.ln(2)


# -- xlsx ----------------------------------------------------------------------------------


def _header_footer_text(text: str) -> str:
    """`text` for an Excel header or footer, where `&` starts a code: doubled, it is an
    ampersand (the rest of the footer is position, hash and time: no other codes)."""
    return text.replace("&", "&&")


def xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Bericht"
    sheet.append([safe_text(report.title)])
    sheet.append([safe_text(report.subtitle)])
    for key, value in report.meta:
        sheet.append([safe_text(key), safe_text(value)])
    if report.checks:
        sheet.append([])
        sheet.append([safe_text(report.verdict())])
        for n, c in enumerate(report.checks, 1):
            sheet.append([safe_text(f"Prüfung {n}: {c.label}"), c.left, c.right,
                          "erfüllt" if c.holds else "NICHT erfüllt"])
            for column in (2, 3):
                sheet.cell(row=sheet.max_row, column=column).number_format = MONEY_FORMAT
    for table in report.tables:
        sheet.append([])
        sheet.append([safe_text(table.caption)])
        sheet.append([safe_text(h) for h in table.header])
        for row in table.rows:
            sheet.append([safe_text(c) if isinstance(c, str) else c for c in row])
            for column, cell in enumerate(row, 1):
                if isinstance(cell, Decimal):
                    sheet.cell(row=sheet.max_row, column=column).number_format = MONEY_FORMAT
    sheet.append([])
    sheet.append([safe_text(report.footer())])
    # Printed, every page carries the footer and "Seite x von y" (SPEC §7), as the pdf does.
    footer = sheet.oddFooter
    assert footer is not None  # a new sheet has its (empty) footers
    footer.left.text = _header_footer_text(report.footer())
    footer.left.size = 7
    footer.right.text = "Seite &P von &N"
    footer.right.size = 7
    sheet.column_dimensions["A"].width = 60
    for letter in "BCDEF":
        sheet.column_dimensions[letter].width = 20
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- a terminal ----------------------------------------------------------------------------


def table(report: Report) -> bytes:
    """`--format table`: the report for a terminal, as the documents say it (German labels
    and amounts, the verdict, every table, the footer), without the charts; UTF-8 text."""
    console = Console(file=io.StringIO(), width=120, force_terminal=False, emoji=False,
                      markup=False, highlight=False,  # names such as 2020-1 stay as they are
                      soft_wrap=True)  # a line (the footer's hash) is never broken
    console.print(report.title)
    console.print(report.subtitle)
    for key, value in report.meta:
        console.print(f"{key}: {value}")
    if report.checks:
        console.print()
        console.print(report.verdict())
        for n, c in enumerate(report.checks, 1):
            console.print(f"  {'✓ erfüllt' if c.holds else '✗ NICHT erfüllt'} Prüfung {n}: "
                          f"{c.label} ({german.euro(c.left)} = {german.euro(c.right)})")
    for shown in report.tables:
        grid = RichTable(title=shown.caption, title_justify="left")
        for n, heading in enumerate(shown.header):
            grid.add_column(heading, justify="left" if n == 0 else "right")
        for row in shown.rows:
            grid.add_row(*(text(cell) for cell in row))
        console.print()
        console.print(grid)
    for note in report.notes:
        console.print(note)
    console.print()
    console.print(report.footer())
    written: str = console.file.getvalue()  # type: ignore[attr-defined]  # the StringIO above
    return written.encode("utf-8")


class Renderer(Protocol):
    def __call__(self, report: Report) -> bytes: ...


RENDERERS: dict[str, Renderer] = {"xlsx": xlsx, "html": html, "pdf": pdf, "table": table}
