"""The dashboard on a phone (390 × 844 CSS px): no page scrolls sideways; a table wider
than the screen scrolls inside its own box, which the keyboard can reach (axe-core)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Site, axe_violations, german_tab, sign_in
from tests.ui.test_empty_states import a_phase_without_applications, a_programme

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, site: Site) -> Any:
    """A signed-in page (auditor: every page) on a phone-sized screen."""
    # Not is_mobile: a mobile browser zooms out to fit a page that is too wide, and its
    # window.innerWidth grows with it; the layout viewport stays 390 px here.
    with german_tab(browser, PHONE) as tab:
        yield tab


def overflow(page: Any) -> dict[str, Any]:
    """How wide the page is against the screen, and every table in the page that reaches
    past the screen without a box of its own to scroll in."""
    return dict(page.evaluate("""() => ({
        width: document.documentElement.scrollWidth, screen: window.innerWidth,
        unboxed: [...document.querySelectorAll('main table')]
            .filter(t => t.getBoundingClientRect().right > window.innerWidth)
            .filter(t => { const box = t.closest('.scroll');
                           return !box || getComputedStyle(box).overflowX !== 'auto'; })
            .map(t => t.id || (t.caption ? t.caption.textContent.trim() : t.className))})"""))


def pages(site: Site) -> list[str]:
    application_id = site.scenario["application_ids"]["06435006"]
    empty_programme, empty_phase = a_programme(site), a_phase_without_applications(site)
    return [
        "/ui", "/ui/programmes/shh-digital", "/ui/programmes/shh-digital/years/2020/paid_in_year",
        "/ui/phases/2020-1", "/ui/phases/2020-1?lang=en", "/ui/phases/2020-1?q=Niemandsland",
        "/ui/phases/2020-1/figures/paid", "/ui/phases/2020-1/figures/paid?recipient_kind=stadt",
        f"/ui/applications/{application_id}", "/ui/events/1", "/ui/audit", "/ui/integrity",
        "/ui/phases/no-such-phase", f"/ui/programmes/{empty_programme}",
        f"/ui/phases/{empty_phase}",
    ]


def test_no_page_scrolls_sideways_on_a_phone(phone: Any, site: Site) -> None:
    phone.goto(site.url + "/ui/login")
    at_sign_in = overflow(phone)
    sign_in(phone, site)
    seen = {"/ui/login": at_sign_in}

    violations = {}
    for path in pages(site):
        phone.goto(site.url + path)
        phone.wait_for_load_state("load")
        seen[path] = overflow(phone)
        violations[path] = axe_violations(phone)  # e.g. a scroll box the keyboard cannot reach

    too_wide = {path: o for path, o in seen.items() if o["width"] > o["screen"] or o["unboxed"]}
    assert too_wide == {}
    assert {path: v for path, v in violations.items() if v} == {}
    # 404: the page of a phase that does not exist is answered as such, on purpose
    assert [e for e in phone.console_errors if "401" not in e and "404" not in e] == []
