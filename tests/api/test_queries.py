"""Queries on the read side: as-of, min_position, pagination, CSV, health."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, auth
from tests.api.fakes import FakeReadModels
from tests.api.scenario import approved, funded, head, ok, submitted


def test_as_of_position_answers_as_the_ledger_stood(client: TestClient) -> None:
    setup = funded(client)
    application_id = submitted(client, setup)
    when_submitted = head(client)
    ok(client.post(f"/applications/{application_id}/approve", headers=auth("anna"),
                   json={"approved_amount": "50000.00", "decided_on": "2020-04-01"}))
    now = head(client)

    then = ok(client.get(f"/applications/{application_id}", headers=auth("ida"),
                         params={"as_of_position": when_submitted}))
    current = ok(client.get(f"/applications/{application_id}", headers=auth("ida"),
                            params={"min_position": now}))
    future = ok(client.get(f"/applications/{application_id}", headers=auth("ida"),
                           params={"as_of": "2999-01-01T00:00:00Z"}))

    assert then["status"] == "submitted" and then["position"] == when_submitted
    assert current["status"] == "approved" and current["position"] >= now
    assert future["status"] == "approved"


def test_as_of_before_anything_existed_is_not_found(client: TestClient) -> None:
    setup = funded(client)

    response = client.get(f"/phases/{setup.phase_id}", headers=auth("ida"),
                          params={"as_of": "2001-01-01T00:00:00+01:00"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_history_of_an_unknown_application_is_not_found(client: TestClient) -> None:
    """As `GET /applications/{id}` (I11): not an empty history, which reads as "nothing
    happened to it" — also as of a position before it was submitted."""
    setup = funded(client)
    before = head(client)
    application_id = approved(client, setup)
    at = {"min_position": head(client)}

    unknown = client.get("/applications/nope/history", headers=auth("ida"), params=at)
    earlier = client.get(f"/applications/{application_id}/history", headers=auth("ida"),
                         params={"as_of_position": before})
    known = client.get(f"/applications/{application_id}/history", headers=auth("ida"),
                       params=at)

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (earlier.status_code, earlier.json()["code"]) == (404, "not_found")
    assert known.status_code == 200 and len(known.json()["items"]) >= 2


def test_as_of_and_as_of_position_together_are_refused(memory_client: TestClient) -> None:
    response = memory_client.get("/applications", headers=auth("ida"), params={
        "as_of": "2020-01-01T00:00:00Z", "as_of_position": 1})

    assert response.json()["code"] == "validation"


def test_min_position_not_reached_is_503_projection_lagging(make_client: ClientFactory) -> None:
    client = make_client("memory://",
                         read_models=lambda _s, ledger: FakeReadModels(ledger, lagging=True))
    funded(client)

    response = client.get("/applications", headers=auth("ida"), params={"min_position": 1})

    assert response.status_code == 503
    assert response.json()["code"] == "projection_lagging"


def test_min_position_beyond_the_log_is_503_after_the_wait(client: TestClient) -> None:
    beyond = head(client) + 1000

    response = client.get("/applications", headers=auth("ida"),
                          params={"min_position": beyond})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "projection_lagging"


def test_as_of_position_beyond_the_log_is_refused_not_answered_as_now(
        client: TestClient) -> None:
    """A position not yet written has no answer that stays: answered as the head, the
    same question changed its answer with the next write."""
    setup = funded(client)
    now = head(client)
    paths = [f"/phases/{setup.phase_id}/totals", f"/programmes/{setup.programme_id}/accounts",
             "/applications", f"/programmes/{setup.programme_id}/reconciliation/2020"]

    beyond = [client.get(path, headers=auth("ida"), params={"as_of_position": now + 3})
              for path in paths]
    at_head = [client.get(path, headers=auth("ida"), params={"as_of_position": now})
               for path in paths]

    assert [r.status_code for r in beyond] == [422] * len(paths), [r.text for r in beyond]
    assert {r.json()["code"] for r in beyond} == {"validation"}
    assert all(f"head ({now})" in r.json()["detail"] for r in beyond)
    assert [r.status_code for r in at_head] == [200] * len(paths)


def test_without_read_models_queries_are_503(make_client: ClientFactory) -> None:
    client = make_client("memory://", read_models=lambda _s, _l: None)

    response = client.get("/applications", headers=auth("ida"))

    assert (response.status_code, response.json()["code"]) == (503, "projections_unavailable")


def test_lists_are_cursor_paginated(client: TestClient) -> None:
    setup = funded(client, recipients=3)
    ids = {submitted(client, setup, n) for n in range(3)}
    at = {"min_position": head(client), "phase_id": setup.phase_id, "limit": 2}

    first = ok(client.get("/applications", headers=auth("ida"), params=at))
    second = ok(client.get("/applications", headers=auth("ida"),
                           params={**at, "cursor": first["next_cursor"]}))

    assert len(first["items"]) == 2 and first["next_cursor"]
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert {a["application_id"] for a in first["items"] + second["items"]} == ids


def test_lists_and_totals_answer_csv(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    at = {"min_position": head(client)}
    csv_header = auth("fritz", Accept="text/csv")

    listing = client.get("/applications", headers=csv_header,
                         params={**at, "phase_id": setup.phase_id})
    totals = client.get(f"/phases/{setup.phase_id}/totals", headers=csv_header, params=at)
    accounts = client.get(f"/programmes/{setup.programme_id}/accounts", headers=csv_header,
                          params=at)
    reconciliation = client.get(f"/programmes/{setup.programme_id}/reconciliation/2020",
                                headers=csv_header, params=at)
    audit = client.get("/audit", headers=csv_header, params={**at, "limit": 5})
    statement = client.get(f"/recipients/{setup.recipients[0]}/statement",
                           headers=csv_header, params=at)
    statement_json = ok(client.get(f"/recipients/{setup.recipients[0]}/statement",
                                   headers=auth("fritz"), params=at))

    rows = list(csv.DictReader(io.StringIO(listing.text)))
    assert listing.headers["content-type"].startswith("text/csv")
    assert [r["application_id"] for r in rows] == [application_id]
    figures = {r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(totals.text))}
    assert figures["awarded"] == "50000.00"
    assert "by_kind.gemeinde.awarded" in figures
    balances = list(csv.DictReader(io.StringIO(accounts.text)))
    assert {"account", "balance"} <= set(balances[0])
    assert reconciliation.headers["content-type"].startswith("text/csv")
    assert audit.status_code == 200 and len(audit.text.splitlines()) == 6
    assert statement.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(statement.text)))
    assert [(r["recipient_id"], r["application_id"], r["awarded"]) for r in lines] == [
        (setup.recipients[0], a["application_id"], a["awarded"])
        for a in statement_json["applications"]] != []
    assert statement.headers["x-ledger-position"] == str(statement_json["position"])


def test_a_csv_page_says_there_is_more_and_what_it_adds_up_to(client: TestClient) -> None:
    """A CSV page of accounts carries the cursor to the next page, the trial balance and
    the totals by account kind (all of them in JSON); a drill-down page its figure."""
    setup = funded(client)
    approved(client, setup)
    at = {"min_position": head(client)}
    path = f"/programmes/{setup.programme_id}/accounts"
    whole = ok(client.get(path, headers=auth("fritz"), params=at))
    csv_header = auth("fritz", Accept="text/csv")

    pages, cursor = [], None
    while True:
        page = client.get(path, headers=csv_header,
                          params={**at, "limit": 2, **({"cursor": cursor} if cursor else {})})
        pages.append(page)
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
    drill = client.get(f"/phases/{setup.phase_id}/totals/awarded/entries", headers=csv_header,
                       params={**at, "limit": 1})

    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page.text))]
    assert len(pages) > 1
    assert [(r["account"], r["balance"]) for r in rows] == [
        (a["account"], a["balance"]) for a in whole["accounts"]]
    assert {page.headers["x-ledger-total"] for page in pages} == {whole["total"]} == {"0.00"}
    by_kind = dict(item.split("=") for item in pages[0].headers["x-ledger-by-kind"].split(", "))
    assert by_kind == whole["by_kind"] and by_kind["outstanding"] == "50000.00"
    assert drill.headers["x-ledger-total"] == "50000.00"


def test_every_query_answers_its_position(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    at = {"min_position": head(client)}
    paths = [f"/programmes/{setup.programme_id}", f"/phases/{setup.phase_id}",
             f"/recipients/{setup.recipients[0]}", f"/applications/{application_id}",
             "/applications", f"/applications/{application_id}/history",
             f"/phases/{setup.phase_id}/totals", f"/phases/{setup.phase_id}/totals/paid/entries",
             f"/programmes/{setup.programme_id}/reconciliation/2020",
             f"/programmes/{setup.programme_id}/reconciliation/2020/committed/entries",
             f"/programmes/{setup.programme_id}/accounts",
             f"/recipients/{setup.recipients[0]}/statement", "/audit", "/events", "/integrity"]

    # /events and /integrity read the log itself, not a projection: they take no
    # min_position (and refuse it as an unknown query parameter).
    answers = {p: client.get(p, headers=auth("root"),
                             params=None if p in ("/events", "/integrity") else at)
               for p in paths}

    for path, response in answers.items():
        assert response.status_code == 200, (path, response.text)
        assert response.json()["position"] >= at["min_position"], path
    assert answers["/integrity"].json()["verified"] is True


def test_events_page_in_order_with_hashes(memory_client: TestClient) -> None:
    funded(memory_client)

    first = ok(memory_client.get("/events", headers=auth("ida"), params={"limit": 2}))
    rest = ok(memory_client.get("/events", headers=auth("ida"),
                                params={"after": first["next_cursor"]}))

    positions = [e["position"] for e in first["items"] + rest["items"]]
    assert positions == sorted(positions) and positions[0] == 1
    assert all(len(e["hash"]) == 64 for e in first["items"])


def test_health_reports_each_projection_and_its_lag(client: TestClient) -> None:
    funded(client)
    now = head(client)
    client.get("/applications", headers=auth("ida"), params={"min_position": now})

    health = ok(client.get("/health"))

    assert health["database"] == "ok" and health["head"] == now
    names = {p["name"] for p in health["projections"]}
    assert names and all(p["lag"] == now - p["position"] for p in health["projections"])
    assert names >= {"audit", "grants"}


def test_effective_on_answers_the_money_of_a_business_date(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)  # decided on 2020-04-01
    before_award = {"effective_on": "2020-03-31"}

    early = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                          params={**before_award, "min_position": head(client)}))
    later = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                          params={"effective_on": "2020-04-01"}))
    entries = ok(client.get(f"/phases/{setup.phase_id}/totals/awarded/entries",
                            headers=auth("ida"), params=before_award))
    reconciliation = ok(client.get(f"/programmes/{setup.programme_id}/reconciliation/2020",
                                   headers=auth("ida"), params=before_award))
    statement = ok(client.get(f"/recipients/{setup.recipients[0]}/statement",
                              headers=auth("ida"), params=before_award))

    assert (early["awarded"], later["awarded"]) == ("0.00", "50000.00")
    assert early["effective_on"] == "2020-03-31"
    assert entries["items"] == [] and entries["total"] == "0.00"
    assert reconciliation["committed"] == "0.00" and reconciliation["balanced"]
    assert [a["awarded"] for a in statement["applications"]] == ["0.00"]
    assert application_id


@pytest.mark.parametrize("day", ["2020-02-30", "31.12.2020", "2020-12-31T00:00:00", "2020-1-1",
                                 "x" * 200])
def test_refuses_an_effective_on_that_is_not_a_date(client: TestClient, day: str) -> None:
    setup = funded(client)

    response = client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                          params={"effective_on": day})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation"


def test_as_of_and_effective_on_answer_what_was_known_then_about_a_day(
        client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    path = f"/applications/{application_id}/drawdowns"
    drawn = ok(client.post(path, headers=auth("clara"),
                           json={"amount": "10.00", "requested_on": "2020-12-01"}), 201)
    before_payment = head(client)
    ok(client.post(f"{path}/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                   json={"paid_on": "2020-12-30"}))  # recorded after, dated before 31.12.
    day = {"effective_on": "2020-12-31", "min_position": head(client)}

    then = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                         params={**day, "as_of_position": before_payment}))
    now = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"), params=day))
    year_end = ok(client.get(f"/programmes/{setup.programme_id}/reconciliation/2020",
                             headers=auth("ida"), params=day))

    assert (then["paid"], now["paid"]) == ("0.00", "10.00")
    assert then["position"] == before_payment
    assert year_end["paid_in_year"] == "10.00" and year_end["balanced"]


def test_a_cell_of_the_kinds_table_drills_down_to_its_entries(client: TestClient) -> None:
    setup = funded(client)
    approved(client, setup, 0, "50000.00")
    submitted(client, setup, 1, "7000.00")
    totals = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                           params={"min_position": head(client)}))
    cells = totals["by_kind"]["gemeinde"]

    def drill(figure: str, kind: str) -> dict[str, object]:
        return ok(client.get(f"/phases/{setup.phase_id}/totals/{figure}/entries",
                             headers=auth("ida"), params={"recipient_kind": kind}))

    awarded, requested, stadt = drill("awarded", "gemeinde"), drill("requested", "gemeinde"), \
        drill("awarded", "stadt")

    assert (cells["awarded"], cells["requested"]) == ("50000.00", "57000.00")
    assert awarded["total"] == "50000.00" and [i["amount"] for i in awarded["items"]] == [
        "50000.00"]
    assert requested["total"] == "57000.00" and sorted(
        i["amount"] for i in requested["items"]) == ["50000.00", "7000.00"]
    assert stadt["items"] == [] and stadt["total"] == "0.00"


@pytest.mark.parametrize("kind", ["dorf", "GEMEINDE", "", "x" * 200])
def test_an_unknown_recipient_kind_is_422(client: TestClient, kind: str) -> None:
    setup = funded(client)

    response = client.get(f"/phases/{setup.phase_id}/totals/paid/entries",
                          headers=auth("ida"), params={"recipient_kind": kind})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_outdated_projection_answers_503_naming_the_replay(client: TestClient) -> None:
    setup = funded(client)
    read = client.app.state.read_models  # type: ignore[attr-defined]  # Starlette's ASGIApp
    read.wait_for(head(client), 10)
    with read.db.write() as tx:  # tables written by an earlier release (version 1)
        tx.execute("UPDATE proj_schemas SET version = 1 WHERE projection = 'grants'")

    dated = client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                       params={"effective_on": "2020-12-31"})
    undated = client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"))

    assert dated.status_code == 503
    assert dated.headers["content-type"].startswith("application/problem+json")
    assert dated.json()["code"] == "projection_outdated"
    assert "ledger replay --projection grants" in dated.json()["detail"]
    assert undated.status_code == 200
    health = client.get("/health")
    grants = next(p for p in health.json()["projections"] if p["name"] == "grants")
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    assert grants["status"] == "outdated"
    assert grants["fix"] == "ledger replay --projection grants"


def test_as_of_is_an_iso_time_or_a_date_never_a_number(memory_client: TestClient) -> None:
    """pydantic would read `as_of=1700000000` (or -1) as seconds since 1970: refused, with
    what to give instead; a date alone is its start (00:00 UTC)."""
    numbers = [memory_client.get("/programmes", headers=auth("ida"), params={"as_of": text})
               for text in ("-1", "1700000000", "1e10", "17.5")]
    day = memory_client.get("/programmes", headers=auth("ida"), params={"as_of": "2020-01-01"})
    moment = memory_client.get("/programmes", headers=auth("ida"),
                               params={"as_of": "2020-01-01T00:00:00Z"})

    assert [(r.status_code, r.json()["code"]) for r in numbers] == [(422, "validation")] * 4
    assert all("ISO 8601" in r.json()["detail"] for r in numbers)
    assert day.status_code == 200 and day.json() == moment.json()


def test_a_statement_totals_requested_without_withdrawn_applications(
        client: TestClient) -> None:
    """`requested` counts the applications not withdrawn (SPEC §5), in a recipient's
    statement as in a phase's totals: the withdrawn one stays listed, with its amount."""
    setup = funded(client)
    withdrawn = submitted(client, setup, 0, amount="5.00")
    ok(client.post(f"/applications/{withdrawn}/withdraw", headers=auth("clara"),
                   json={"reason": "filed twice", "withdrawn_on": "2020-03-02"}))
    approved(client, setup, 0, amount="20000.00")

    statement = ok(client.get(f"/recipients/{setup.recipients[0]}/statement",
                              headers=auth("fritz"), params={"min_position": head(client)}))
    totals = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("fritz"),
                           params={"min_position": head(client)}))

    assert sorted(a["requested"] for a in statement["applications"]) == ["20000.00", "5.00"]
    assert statement["totals"]["requested"] == totals["requested"] == "20000.00"


def test_what_did_not_exist_yet_is_unknown_as_of_that_position(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    at = {"as_of_position": 1, "min_position": head(client)}

    answers = [client.get(path, headers=auth("ida"), params=at) for path in (
        f"/phases/{setup.phase_id}/totals", f"/applications/{application_id}",
        f"/applications/{application_id}/history",
        f"/programmes/{setup.programme_id}/reconciliation/2020")]
    now = client.get(f"/phases/nope-{setup.phase_id}", headers=auth("ida"))

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all(a.json()["detail"].endswith("as of position 1") for a in answers), [
        a.json()["detail"] for a in answers]
    assert now.status_code == 404 and "as of" not in now.json()["detail"]
