"""The 2020 scenario served on a real socket, per SQL store, and a browser to look at it.

Browsers: Debian's chromium (/usr/bin/chromium), driven by Playwright; no browser is
ever downloaded. Without it the browser tests skip, except under CI=true, where they
fail (.ci/run installs the package).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ledger import Settings, build_ledger
from scripts.decide_in_memory import InMemory
from scripts.demo_data import load_2020_scenario
from tests.conftest import PG_DB, PG_DSN, PG_HOST, PG_PORT, PG_USER, _postgres_or_skip
from tests.support.live_server import live_server

CHROMIUM = Path(os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium"))
ASSETS = Path(__file__).parent / "assets"
USERS = {"ida": ["auditor"], "fritz": ["finance"], "frieda": ["finance"], "clara": ["clerk"],
         "anna": ["approver"], "adam": ["admin"]}


def key_of(user: str) -> str:
    return f"ui-test-key-{user}-0123456789"


@dataclass
class Site:
    url: str
    store: str
    scenario: dict[str, Any]

    def get(self, path: str, user: str = "ida", **params: Any) -> Any:
        answer = httpx.get(self.url + path, params=params, timeout=30,
                           headers={"Authorization": f"Bearer {key_of(user)}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: dict[str, Any], user: str) -> Any:
        answer = httpx.post(self.url + path, json=body, timeout=30,
                            headers={"Authorization": f"Bearer {key_of(user)}"})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


@pytest.fixture(scope="package")
def keys_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps({"keys": [{"key": key_of(u), "user": u, "roles": r}
                                         for u, r in USERS.items()]}))
    return path


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ledger.db'}"
        return
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}?schema={schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="package")
def site(store_url: str, keys_path: Path) -> Iterator[Site]:
    """The Starke Heimat Hessen 2020 scenario behind a live server, projections current."""
    ledger = build_ledger(Settings(database_url=store_url))
    # The loader writes the whole scenario within about a second; the decisions and the
    # money are recorded a second after the submissions here, so that a moment typed
    # to the second (the as-of control) can fall between them.
    original_save = InMemory.save

    def save_a_second_later(memory: InMemory) -> int:
        time.sleep(1.1)
        return original_save(memory)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(InMemory, "save", save_a_second_later)
            scenario = load_2020_scenario(ledger)
    finally:
        ledger.close()
    with live_server(store_url, keys_path) as (url, app):
        app.state.read_models.wait_for(scenario["last_position"], 120)  # type: ignore[attr-defined]
        yield Site(url, store_url.split(":", maxsplit=1)[0], scenario)


def chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing under CI=true (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    path = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(path), args=["--no-sandbox"])
        yield launched
        launched.close()


@contextmanager
def german_tab(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A tab of its own browser context, in German and Berlin time, that records script
    errors and CSP refusals (`console_errors`: the tests read them)."""
    context = browser.new_context(viewport=viewport, locale="de-DE",
                                  timezone_id="Europe/Berlin")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.console_errors = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A signed-in page (auditor), in German, 1280 px wide."""
    with german_tab(browser, {"width": 1280, "height": 900}) as tab:
        yield tab


def sign_in(page: Any, site: Site, user: str = "ida", path: str = "/ui") -> None:
    page.goto(site.url + path)
    page.get_by_label("API-Schlüssel").fill(key_of(user))
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state("load")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now."""
    if not page.evaluate("() => !!window.axe"):
        # Served as if from the site itself, so the pages' CSP (script-src 'self') admits it.
        origin = page.evaluate("() => location.origin")
        page.route(f"{origin}/__test__/axe.min.js", lambda route: route.fulfill(
            path=str(ASSETS / "axe.min.js"), content_type="text/javascript"))
        page.add_script_tag(url=f"{origin}/__test__/axe.min.js")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return list(result)


def accessible(page: Any) -> None:
    """No WCAG 2.1 A/AA violation, and no script error or CSP refusal so far."""
    violations = axe_violations(page)
    assert violations == [], violations
    assert [e for e in page.console_errors if "401" not in e] == []


def amount(text: str) -> Decimal:
    """'1.234.567,89 €' → Decimal('1234567.89')."""
    cleaned = text.replace("\u00a0", "").replace("€", "").replace(".", "").replace(",", ".")
    return Decimal(cleaned.replace("−", "-").strip())
