"""What a page says when there is nothing yet to show: a programme without a budget or a
phase, a phase without applications. A sentence that says so and what to do, never an
empty table or a blank chart."""

from __future__ import annotations

import uuid
from typing import Any

from tests.ui.conftest import Site, accessible, sign_in


def _recorded(site: Site, answer: dict[str, Any], path: str) -> None:
    """Waits until the read side shows what the command answered (its position)."""
    site.get(path, min_position=answer["position"])


def a_programme(site: Site) -> str:
    pid = f"leer-{uuid.uuid4().hex[:8]}"
    answer = site.post("/programmes", {"programme_id": pid, "name": "Programm ohne Haushalt",
                                       "funder": "Land Hessen"}, "adam")
    _recorded(site, answer, f"/programmes/{pid}")
    return pid


def a_phase_without_applications(site: Site) -> str:
    pid = a_programme(site)
    site.post(f"/programmes/{pid}/budgets", {"fiscal_year": 2020, "amount": "100000.00",
                                             "effective_date": "2020-01-01"}, "fritz")
    phase_id = f"{pid}-1"
    answer = site.post(f"/programmes/{pid}/phases", {
        "phase_id": phase_id, "name": "Phase ohne Anträge", "fiscal_year": 2020,
        "envelope": "50000.00", "opens_on": "2020-01-01", "closes_on": "2020-12-31",
        "eligible_kinds": ["gemeinde"]}, "adam")
    _recorded(site, answer, f"/phases/{phase_id}/totals")
    return phase_id


def tables_without_data(page: Any) -> list[str]:
    """The tables on the page that have not one data cell (a header and nothing else)."""
    return list(page.evaluate("""() => [...document.querySelectorAll('main table')]
        .filter(t => !t.querySelector('td'))
        .map(t => t.id || (t.caption ? t.caption.textContent.trim() : t.outerHTML))"""))


def test_a_programme_without_a_budget_says_so_and_who_records_one(page: Any, site: Site
                                                                  ) -> None:
    pid = a_programme(site)

    sign_in(page, site, path=f"/ui/programmes/{pid}")

    assert page.get_by_test_id("no-budget").count() == 1
    said = page.get_by_test_id("no-budget").inner_text()
    assert "noch kein Haushalt" in said and f"POST /programmes/{pid}/budgets" in said
    assert "Förderphase" in page.get_by_test_id("no-phases").inner_text()
    assert page.locator("main canvas").count() == 0  # no chart of nothing
    assert tables_without_data(page) == []
    accessible(page)

    page.goto(site.url + f"/ui/programmes/{pid}?lang=en")
    assert "no budget yet" in page.get_by_test_id("no-budget").inner_text()
    assert tables_without_data(page) == []


def test_a_phase_without_applications_says_so_and_who_records_them(page: Any, site: Site
                                                                   ) -> None:
    phase_id = a_phase_without_applications(site)

    sign_in(page, site, path=f"/ui/phases/{phase_id}")

    assert page.get_by_test_id("no-applications").count() == 1
    said = page.get_by_test_id("no-applications").inner_text()
    assert "noch kein Antrag" in said and "POST /applications" in said
    assert tables_without_data(page) == []
    accessible(page)

    page.goto(site.url + f"/ui/phases/{phase_id}?lang=en")
    assert "No application" in page.get_by_test_id("no-applications").inner_text()


def test_a_search_that_finds_nothing_says_so(page: Any, site: Site) -> None:
    sign_in(page, site, path="/ui/phases/2020-1?q=Niemandsland")

    assert "Kein Antrag passt" in page.get_by_test_id("no-match").inner_text()
    assert page.get_by_test_id("no-applications").count() == 0
