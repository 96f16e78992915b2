"""The dashboard names each figure as the reports do: the phase totals, a year's figures
and the five checks read the same on screen as in the report downloaded from that screen
(`ledger report`'s html), so a reader can set the two side by side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.ui.conftest import Site, amount, sign_in

ROWS = """(selector) => [...document.querySelectorAll(selector + ' tbody tr')]
    .map(r => [r.querySelector('th').innerText.trim(), r.querySelector('td').innerText.trim()])"""


def report(page: Any, path: str) -> Any:
    """The html report behind a download link of the page, opened in a tab of its own."""
    answer = page.request.get(page.url.split("/ui/")[0] + path, params={"format": "html"})
    assert answer.ok, answer.text()
    tab = page.context.new_page()
    tab.set_content(answer.text())
    return tab


def report_table(tab: Any, caption: str) -> dict[str, Decimal]:
    rows = tab.evaluate("""(caption) => {
        const table = [...document.querySelectorAll('table')]
            .find(t => t.caption.textContent.startsWith(caption));
        return [...table.querySelectorAll('tbody tr')].map(r =>
            [r.querySelector('th').textContent, r.querySelector('td').textContent]); }""",
                        caption)
    return {label: amount(value) for label, value in rows}


def test_phase_figures_are_named_as_in_the_phase_report(page: Any, site: Site) -> None:
    sign_in(page, site, path="/ui/phases/2020-1")
    shown = {label: amount(value)
             for label, value in page.evaluate(ROWS, "#figures table.figures")}
    by_kind = page.locator("#kinds-h + .scroll thead th.num").all_inner_texts()

    printed = report(page, "/ui/phases/2020-1/report")
    in_report = report_table(printed, "Kennzahlen der Phase")
    kind_rows = set(report_table(printed, "Nach Empfängerart"))

    assert shown == in_report
    assert set(by_kind) <= kind_rows


def test_year_figures_and_checks_are_named_as_in_the_reconciliation(page: Any, site: Site
                                                                     ) -> None:
    sign_in(page, site, path="/ui/programmes/shh-digital")
    rows = page.evaluate("""() => [...document.querySelectorAll('#years tbody tr')]
        .filter(r => r.querySelector('a[data-figure]'))
        .map(r => [r.querySelector('th').innerText.trim(),
                   r.querySelector('a[data-figure$="-2020"]').innerText.trim()])""")
    shown = {label: amount(value) for label, value in rows}
    checks = [text.split(". ", 1)[1]
              for text in page.locator("#checks-2020 tbody th").all_inner_texts()]

    printed = report(page, "/ui/programmes/shh-digital/years/2020/report")
    in_report = report_table(printed, "Kennzahlen des Haushaltsjahres 2020")
    checked = [text.split(": ", 1)[1].rsplit(" (", 1)[0]
               for text in printed.locator(".verdict li").all_text_contents()]

    assert shown == {label: in_report.get(label) for label in shown}
    assert checks == checked
