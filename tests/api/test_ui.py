"""The dashboard over HTTP (no browser): signing in, the cookie's scope, refusals as
pages, and what the pages show, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re

from fastapi.testclient import TestClient

from tests.api.conftest import auth, key_of
from tests.api.scenario import approved, funded, ok


def caught_up(client: TestClient) -> None:
    """Waits until the read models reached the log's head (the pages do not wait)."""
    head = client.get("/integrity", headers=auth("ida")).json()["position"]
    assert client.get("/whoami", headers=auth("ida")).status_code == 200
    client.app.state.read_models.wait_for(head, 10)  # type: ignore[attr-defined]


def signed_in(client: TestClient, user: str = "ida") -> TestClient:
    answer = client.post("/ui/login", data={"key": key_of(user), "next": "/ui"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def test_sign_in_sets_a_strict_http_only_cookie_for_ui_only(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"key": key_of("ida"), "next": "/ui/audit"},
                         follow_redirects=False)

    cookie = answer.headers["set-cookie"]
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/audit"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    # The API keeps Bearer keys: the cookie is not a credential there.
    assert client.get("/whoami").status_code == 401


def test_wrong_key_and_no_cookie(client: TestClient) -> None:
    refused = client.post("/ui/login", data={"key": "not-a-key-0123456789"})
    redirected = client.get("/ui/phases/x?lang=en", follow_redirects=False)

    assert refused.status_code == 401
    assert "unbekannt" in refused.text
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "/ui/login?next=%2Fui%2Fphases%2Fx%3Flang%3Den"


def test_only_sign_in_and_out_take_a_post_without_a_key(client: TestClient) -> None:
    assert client.post("/ui/logout", follow_redirects=False).status_code == 303
    assert client.post("/ui/audit").status_code == 401
    assert client.post("/programmes", json={}).status_code == 401


def test_phase_page_shows_german_figures_and_links_to_entries(client: TestClient) -> None:
    setup = funded(client, recipients=2)
    approved(client, setup, amount="1234567.89")
    caught_up(client)
    signed_in(client)

    page = client.get(f"/ui/phases/{setup.phase_id}")
    english = client.get(f"/ui/phases/{setup.phase_id}?lang=en")

    assert page.status_code == 200
    assert "1.234.567,89\u00a0€" in page.text
    assert f'href="/ui/phases/{setup.phase_id}/figures/awarded"' in page.text
    assert '<html lang="de">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "€1,234,567.89" in english.text and '<html lang="en">' in english.text


def test_refusals_are_pages_with_their_status(client: TestClient) -> None:
    signed_in(client, "clara")

    assert client.get("/ui/phases/no-such-phase").status_code == 404
    assert client.get("/ui/audit").status_code == 403  # clerks do not read the audit trail
    assert client.get("/ui/integrity").status_code == 403
    assert client.get("/ui/events/1").status_code == 403  # raw events: auditor, finance
    bad = client.get("/ui/phases/x?effective_on=31.12.2020")
    assert bad.status_code == 422 and "effective_on" in bad.text


def test_effective_on_is_carried_and_said_when_not_supported(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)

    page = client.get(f"/ui/programmes/{setup.programme_id}?effective_on=2020-12-31")

    assert page.status_code == 200
    assert 'value="2020-12-31"' in page.text
    assert "effective_on=2020-12-31" in page.text  # the links keep the view


def test_reports_download_for_the_view_on_screen(client: TestClient) -> None:
    setup = funded(client, recipients=2)
    approved(client, setup, amount="1234567.89")
    caught_up(client)
    signed_in(client)

    pdf = client.get(f"/ui/phases/{setup.phase_id}/report", params={"format": "pdf"})
    html = client.get(f"/ui/programmes/{setup.programme_id}/years/2020/report",
                      params={"format": "html"})
    xlsx = client.get(f"/ui/phases/{setup.phase_id}/report", params={"format": "xlsx"})
    bad = client.get(f"/ui/phases/{setup.phase_id}/report", params={"format": "doc"})
    unknown = client.get("/ui/phases/nope/report")
    page = client.get(f"/ui/phases/{setup.phase_id}")

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    assert html.status_code == 200 and "1.234.567,89" in html.text, html.text[:300]
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert bad.status_code == 422 and unknown.status_code == 404
    assert f"/ui/phases/{setup.phase_id}/report?format=pdf" in page.text


def test_a_search_of_punctuation_only_finds_nothing_and_is_not_an_error(
        client: TestClient) -> None:
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)

    page = client.get(f"/ui/phases/{setup.phase_id}", params={"q": "--"})

    assert page.status_code == 200


def test_each_cell_of_the_kinds_table_drills_down_to_entries_summing_to_it(
    client: TestClient,
) -> None:
    setup = funded(client, recipients=2)
    approved(client, setup, amount="1234567.89")
    caught_up(client)
    signed_in(client)

    page = client.get(f"/ui/phases/{setup.phase_id}")
    link = f"/ui/phases/{setup.phase_id}/figures/awarded?recipient_kind=gemeinde"
    cell = client.get(link)
    requested = client.get(f"/ui/phases/{setup.phase_id}/figures/requested",
                           params={"recipient_kind": "gemeinde", "lang": "en"})
    bad = client.get(f"/ui/phases/{setup.phase_id}/figures/paid?recipient_kind=dorf")

    assert f'href="{link}" data-cell="awarded" data-kind="gemeinde"' in page.text
    assert cell.status_code == 200 and "Gemeinde" in cell.text
    assert 'data-testid="sums-to-figure"' in cell.text
    assert 'data-testid="figure-total" data-amount="1234567.89"' in cell.text
    assert 'data-testid="sums-to-figure"' in requested.text
    assert bad.status_code == 422 and "recipient_kind" in bad.text


def test_by_a_business_date_every_figure_linked_drills_down(client: TestClient) -> None:
    """By a business date every figure links its drill-down, `requested` included, in the
    totals and in the kinds table, and every link the page gives answers 200."""
    setup = funded(client, recipients=2)
    approved(client, setup, amount="1000.00")
    caught_up(client)
    signed_in(client)

    dated = client.get(f"/ui/phases/{setup.phase_id}", params={"effective_on": "2020-12-31"})
    today = client.get(f"/ui/phases/{setup.phase_id}")

    assert dated.status_code == 200 and today.status_code == 200
    assert "/figures/requested" in dated.text and "/figures/requested" in today.text
    assert 'data-cell="requested" data-kind="gemeinde"' in dated.text
    assert '<span data-cell="requested"' not in dated.text
    links = {href.replace("&amp;", "&") for href in
             re.findall(r'href="(/ui/phases/[^"]*/figures/[^"]*)"', dated.text)}
    assert links and all(client.get(link).status_code == 200 for link in links), links


def test_a_moment_without_a_utc_time_is_the_422_page_not_a_500(client: TestClient) -> None:
    """0001-01-01T00:00 in Berlin is in year 0, 9999-12-31T23:59:59-05:00 in year 10000:
    neither has a UTC time, and each is refused as `as_of=abc` is."""
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)
    asked = [("/ui", {"as_of": "0001-01-01T00:00"}),
             ("/ui", {"as_of": "9999-12-31T23:59:59-05:00"}),
             ("/ui/audit", {"recorded_from": "0001-01-01T00:00"}),
             ("/ui/audit", {"recorded_to": "9999-12-31T23:59:59-05:00"}),
             (f"/ui/phases/{setup.phase_id}/report",
              {"format": "pdf", "as_of": "0001-01-01T00:00"})]

    answers = [client.get(path, params=params) for path, params in asked]
    edges = [client.get("/ui", params={"as_of": "0001-01-02T00:00"}),
             client.get("/ui", params={"as_of": "9999-12-31T00:00"}),
             client.get("/ui/audit", params={"recorded_from": "0001-01-02T00:00",
                                             "recorded_to": "9999-12-31T00:00"})]

    assert [a.status_code for a in answers] == [422] * len(asked), [a.text for a in answers]
    assert all("out of range" in a.text for a in answers)
    assert [e.status_code for e in edges] == [200] * len(edges), [e.text for e in edges]


def test_an_event_beyond_any_position_is_not_found_on_every_store(client: TestClient) -> None:
    signed_in(client)

    answers = [client.get(f"/ui/events/{n}") for n in
               ("99999999999999999999", str(2**63), str(2**62 + 1), "-1")]

    assert [a.status_code for a in answers] == [404] * 4, [a.text[:300] for a in answers]
    assert all("no event at position" in a.text for a in answers)


def _figures(page: str) -> dict[str, str]:
    """The application page's figures table, by figure: '10.000,00 €' → '10000,00'."""
    return {name: value.replace(".", "").replace("\u00a0€", "") for name, value in
            re.findall(r'data-figure="(\w+)">([^<]*)<', page)}


def _granted_with_money(client: TestClient) -> tuple[str, str]:
    """Submitted 1 March 2020, 50,000 awarded 1 April, 10,000 paid 15 May, 1,000 repaid
    1 July: (phase id, application id)."""
    setup = funded(client, recipients=1)
    application_id = approved(client, setup)
    path = f"/applications/{application_id}"
    drawn = client.post(f"{path}/drawdowns", headers=auth("clara"),
                        json={"amount": "10000.00", "requested_on": "2020-05-01"}).json()
    assert client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                       json={"paid_on": "2020-05-15"}).status_code == 200
    assert client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "1000.00", "received_on": "2020-07-01", "reason": "unspent"}
        ).status_code in (200, 201)
    caught_up(client)
    return setup.phase_id, application_id


def test_an_application_page_shows_its_money_by_the_business_date(client: TestClient) -> None:
    _, application_id = _granted_with_money(client)
    signed_in(client)
    page = f"/ui/applications/{application_id}"

    today = client.get(page)
    june = client.get(page, params={"effective_on": "2020-06-30"})
    march = client.get(page, params={"effective_on": "2020-03-15", "lang": "en"})
    february = client.get(page, params={"effective_on": "2020-02-01"})

    assert _figures(today.text) == {
        "requested": "50000,00", "awarded": "50000,00", "released": "0,00",
        "paid": "10000,00", "repaid": "1000,00", "net_paid": "9000,00",
        "outstanding": "40000,00"}
    assert _figures(june.text) == {
        "requested": "50000,00", "awarded": "50000,00", "released": "0,00",
        "paid": "10000,00", "repaid": "0,00", "net_paid": "10000,00",
        "outstanding": "40000,00"}
    assert "Stand zum Stichtag 30.06.2020" in june.text
    assert today.text.count('data-testid="repayment"') == 1
    assert 'data-testid="repayment"' not in june.text  # received 1 July
    assert 'data-figure="awarded">€0.00<' in march.text and "Submitted" in march.text
    assert "Zum Stichtag noch nicht eingereicht" in february.text
    assert 'data-figure="requested">0,00\u00a0€<' in february.text
    # the drawdowns as of the date: requested 1 May, paid 15 May
    assert 'data-testid="drawdowns-by-business-date"' in june.text
    assert 'data-testid="drawdowns-by-business-date"' not in today.text
    assert _drawdown_statuses(june.text) == ["paid"]
    assert _drawdown_statuses(client.get(page, params={"effective_on": "2020-05-10"}).text) \
        == ["requested"]
    assert _drawdown_statuses(march.text) == []


def test_an_application_page_before_its_submission_shows_nothing_of_it(
        client: TestClient) -> None:
    """By a business date before the submission the application did not exist: no money,
    no measures, no drawdowns — while today its measures are listed."""
    setup = funded(client, recipients=1)
    application_id = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[0],
        "requested_amount": "3000.00", "submitted_on": "2020-03-01",
        "measures": [{"category": "training", "description": "Schulung E-Akte",
                      "amount": "3000.00"}]}), 201)["application_id"]
    caught_up(client)
    signed_in(client)
    page = f"/ui/applications/{application_id}"

    today = client.get(page)
    before = client.get(page, params={"effective_on": "2020-02-01"})
    on_the_day = client.get(page, params={"effective_on": "2020-03-01"})

    assert 'id="measures-caption"' in today.text and "Schulung E-Akte" in today.text
    assert "Zum Stichtag noch nicht eingereicht" in before.text
    assert 'id="measures-caption"' not in before.text
    assert "Schulung E-Akte" not in before.text
    assert "Schulung E-Akte" in on_the_day.text


def test_a_phase_page_shows_its_applications_by_the_business_date(
        client: TestClient) -> None:
    """Each row's status and money as of the date; an application submitted later is not
    listed (submitted 1 March, approved 1 April, 10,000 paid 15 May)."""
    phase_id, application_id = _granted_with_money(client)
    signed_in(client)
    page = f"/ui/phases/{phase_id}"

    today = client.get(page, params={"lang": "en"})
    march = client.get(page, params={"effective_on": "2020-03-15", "lang": "en"})
    june = client.get(page, params={"effective_on": "2020-06-30", "lang": "en"})
    february = client.get(page, params={"effective_on": "2020-02-01", "lang": "en"})

    assert _application_rows(today.text) == [("Approved", "50,000.00", "10,000.00",
                                              "40,000.00")]
    assert _application_rows(march.text) == [("Submitted", "0.00", "0.00", "0.00")]
    assert _application_rows(june.text) == [("Approved", "50,000.00", "10,000.00",
                                             "40,000.00")]
    assert _application_rows(february.text) == []
    assert 'data-testid="no-applications"' in february.text  # none submitted by then
    assert application_id in march.text and application_id not in february.text
    assert 'data-testid="by-business-date"' in march.text
    assert "applications submitted later are left out" in march.text
    assert 'data-testid="by-business-date"' not in today.text


def _application_rows(page: str) -> list[tuple[str, ...]]:
    """The phase page's applications table: (status, awarded, paid, outstanding) per row;
    none when the page has no table (a phase without applications says so instead)."""
    if '<table id="applications"' not in page:
        return []
    table = page.split('<table id="applications"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, flags=re.S)
    return [tuple(cell.replace("\u00a0", " ").removeprefix("€").strip() for cell in
                  re.findall(r"<td[^>]*>([^<]*)</td>", row))[1:] for row in rows]


def _drawdown_statuses(page: str) -> list[str]:
    """The application page's drawdowns table: each row's status (its data-status)."""
    table = page.split('id="drawdowns-caption"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-status="(\w+)"', table)


def test_a_position_beyond_the_head_is_the_422_page_not_the_head(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)
    head = client.get("/health").json()["head"]

    beyond = [client.get(path, params={"as_of_position": head + 1}) for path in
              ("/ui", f"/ui/phases/{setup.phase_id}", f"/ui/phases/{setup.phase_id}/report")]
    at_head = client.get(f"/ui/phases/{setup.phase_id}", params={"as_of_position": head})

    assert [b.status_code for b in beyond] == [422, 422, 422], [b.text[:200] for b in beyond]
    assert all(f"as_of_position: {head + 1} is beyond the log&#39;s head ({head})" in b.text
               or f"as_of_position: {head + 1} is beyond the log's head ({head})" in b.text
               for b in beyond)
    assert at_head.status_code == 200


def test_a_time_and_a_position_together_are_the_422_page(client: TestClient) -> None:
    """As the API: the form's two as-of fields name one moment, not two."""
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)
    both = {"as_of": "2020-01-01T00:00", "as_of_position": "1"}

    pages = [client.get(path, params=both) for path in
             ("/ui", f"/ui/phases/{setup.phase_id}", f"/ui/phases/{setup.phase_id}/report")]
    api = client.get(f"/phases/{setup.phase_id}/totals", params=both, headers=auth("fritz"))

    assert [p.status_code for p in pages] == [422, 422, 422], [p.text[:200] for p in pages]
    assert all("give one, not both" in p.text for p in pages)
    assert api.status_code == 422
    assert client.get("/ui", params={"as_of_position": "1"}).status_code == 200


def test_the_repayments_table_lists_every_repayment_the_figure_counts(
        client: TestClient) -> None:
    """More history than one page of it (4 events, then 101 repayments): the table's pages
    list every repayment, and they sum to `repaid`."""
    setup = funded(client, recipients=1)
    application_id = approved(client, setup)
    path = f"/applications/{application_id}"
    drawn = client.post(f"{path}/drawdowns", headers=auth("clara"),
                        json={"amount": "10000.00", "requested_on": "2020-05-01"}).json()
    client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                json={"paid_on": "2020-05-15"})
    for n in range(101):
        assert client.post(f"{path}/repayments", headers=auth("fritz"), json={
            "amount": "1.00", "received_on": "2020-07-01", "reason": f"r{n}"}
            ).status_code in (200, 201)
    caught_up(client)
    signed_in(client)

    pages, url = [], f"/ui/applications/{application_id}"
    while url:
        pages.append(client.get(url).text)
        more = re.search(r'data-testid="repayments-next" href="([^"]+)"', pages[-1])
        url = more.group(1).replace("&amp;", "&") if more else ""

    rows = [row for page in pages for row in re.findall(
        r'<tr data-testid="repayment">.*?</tr>', page)]
    assert len(pages) == 2
    assert len(rows) == 101 and len({re.search(r"<td>(r\d+)</td>", r).group(1)  # type: ignore[union-attr]
                                      for r in rows}) == 101
    assert 'data-figure="repaid">101,00\u00a0€<' in pages[0]


def test_links_are_shown_only_to_roles_that_may_follow_them(client: TestClient) -> None:
    """The audit trail and the events behind positions: auditor and finance; the
    integrity page: auditor. Every other role would only get 403 from them."""
    setup = funded(client, recipients=1)
    application_id = approved(client, setup)
    caught_up(client)
    pages = (f"/ui/applications/{application_id}",
             f"/ui/phases/{setup.phase_id}/figures/awarded", "/ui")
    seen = {}
    for user in ("clara", "anna", "ada", "fritz", "ida"):
        signed_in(client, user)
        texts = [client.get(page).text for page in pages]
        seen[user] = ({'href="/ui/audit"' in t for t in texts},
                      {'href="/ui/integrity"' in t for t in texts},
                      {'href="/ui/events/' in t for t in texts[:2]})

    for user in ("clara", "anna", "ada"):
        assert seen[user] == ({False}, {False}, {False}), user
    assert seen["fritz"] == ({True}, {False}, {True})
    assert seen["ida"] == ({True}, {True}, {True})


def test_refusals_under_ui_are_the_dashboards_page_in_its_language(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    caught_up(client)
    signed_in(client)

    pages = {
        "event": client.get("/ui/events/abc"),
        "year": client.get(f"/ui/programmes/{setup.programme_id}/years/abc/paid?lang=en"),
        "nowhere": client.get("/ui/nope"),
        "nowhere_en": client.get("/ui/nope?lang=en"),
        "format": client.get(f"/ui/phases/{setup.phase_id}/report",
                             params={"format": "doc", "lang": "en"}),
        "as_of_en": client.get("/ui", params={"as_of": "abc", "lang": "en"}),
    }
    wrong_key = client.post("/ui/login?lang=en", data={"key": "not-a-key-0123456789"})
    wrong_key_form = client.post("/ui/login", data={"key": "not-a-key-0123456789",
                                                    "lang": "en"})
    api = [client.get("/nope"), client.get("/events/abc", headers=auth("ida"))]

    statuses = {name: p.status_code for name, p in pages.items()}
    assert statuses == {"event": 422, "year": 422, "nowhere": 404, "nowhere_en": 404,
                        "format": 422, "as_of_en": 422}
    assert all(p.headers["content-type"].startswith("text/html") for p in pages.values())
    assert all('<p class="error" role="alert">' in p.text for p in pages.values())
    assert "position: Input should be a valid integer" in pages["event"].text
    assert '<html lang="de">' in pages["event"].text and "Fehler" in pages["event"].text
    assert '<html lang="en">' in pages["year"].text and "year: " in pages["year"].text
    assert "Diese Seite gibt es im Dashboard nicht." in pages["nowhere"].text
    assert "Not found" in pages["nowhere_en"].text
    assert '<html lang="en">' in pages["format"].text and "format: one of" in pages["format"].text
    assert '<html lang="en">' in pages["as_of_en"].text
    assert wrong_key.status_code == wrong_key_form.status_code == 401
    assert all("This key is unknown." in a.text for a in (wrong_key, wrong_key_form))
    assert [a.headers["content-type"] for a in api] == ["application/problem+json"] * 2


def test_a_refusal_under_ui_signed_out_leads_to_the_sign_in_form(client: TestClient) -> None:
    answers = [client.get(path, follow_redirects=False) for path in ("/ui/nope", "/ui/events/x")]

    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == "/ui/login?next=%2Fui%2Fnope"


def test_a_unicode_digit_in_a_position_is_refused_or_ignored_never_a_500(
        client: TestClient) -> None:
    signed_in(client)
    setup = funded(client)
    application_id = approved(client, setup)
    caught_up(client)

    position = client.get("/ui", params={"as_of_position": "²"})
    entries = client.get(f"/ui/phases/{setup.phase_id}/figures/paid", params={"carried": "²"})
    repayments = client.get(f"/ui/applications/{application_id}",
                            params={"repayments_cursor": base64.urlsafe_b64encode(
                                "audit|²".encode()).decode().rstrip("=")})

    assert position.status_code == 422
    assert entries.status_code == 200  # (a running sum it cannot read starts at zero)
    assert repayments.status_code == 422


def test_a_method_a_page_does_not_take_is_405_with_allow_in_the_pages_language(
        client: TestClient) -> None:
    signed_in(client)

    german = client.put("/ui/login")
    english = client.delete("/ui/login?lang=en")
    api = client.put("/whoami", headers=auth("ida"))

    assert (german.status_code, english.status_code) == (405, 405)
    assert all(a.headers["allow"] == "GET, HEAD, POST" for a in (german, english))
    assert "Diese Anfrage ist hier nicht möglich" in german.text
    assert '<html lang="en">' in english.text and "another method is" in english.text
    assert api.status_code == 405 and api.headers["allow"] == "GET, HEAD"  # as the API's
