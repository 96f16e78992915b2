"""Lookups (issue 10): programmes and phases listed, recipients found by name or id,
applications by file reference or recipient name, every list with its total."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from projections import lookups
from tests.api.conftest import auth
from tests.api.scenario import Setup, funded, head, ok


def _registered(client: TestClient, setup: Setup, *names: tuple[str, str]) -> None:
    ok(client.post("/recipients", headers=auth("ada"), json={"recipients": [
        {"recipient_id": rid, "name": name, "kind": "stadt"} for rid, name in names]}), 201)


def _applied(client: TestClient, setup: Setup, recipient_id: str, reference: str) -> str:
    body = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": recipient_id,
        "requested_amount": "1000.00", "submitted_on": "2020-03-01",
        "reference": reference}), 201)
    return str(body["application_id"])


def _get(client: TestClient, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    """As the ledger stands now (its own writes read back), unless `params` choose."""
    if "as_of_position" not in params and "min_position" not in params:
        params["min_position"] = head(client)
    return ok(client.get(path, headers=auth("ida"), params=params))  # type: ignore[no-any-return]


def test_programmes_and_their_phases_are_listed_with_totals(client: TestClient) -> None:
    first, second = funded(client, recipients=1), funded(client, recipients=1)

    programmes = _get(client, "/programmes", limit=1)
    rest = _get(client, "/programmes", limit=1, cursor=programmes["next_cursor"])
    phases = _get(client, f"/programmes/{first.programme_id}/phases")

    assert programmes["total"] == 2 and rest["total"] == 2
    assert {programmes["items"][0]["programme_id"], rest["items"][0]["programme_id"]} == {
        first.programme_id, second.programme_id}
    assert programmes["items"][0]["name"] == "Starke Heimat"
    assert rest["next_cursor"] is None
    assert phases["total"] == 1
    assert phases["items"][0] | {"envelope": "16000000.00"} == phases["items"][0]
    assert phases["items"][0]["phase_id"] == first.phase_id


def test_phases_of_an_unknown_programme_are_not_found(client: TestClient) -> None:
    funded(client, recipients=1)

    response = client.get("/programmes/nope/phases", headers=auth("ida"))

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_recipients_are_found_by_any_word_of_the_name_or_by_id(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    _registered(client, setup, ("06412000", "Stadt Frankfurt am Main"),
                ("06433006", "Stadt Groß-Gerau"), ("06411000", "Wissenschaftsstadt Darmstadt"))

    by_word = _get(client, "/recipients", q="frank")
    by_phrase = _get(client, "/recipients", q="FRANKFURT am")
    by_umlaut = _get(client, "/recipients", q="gross ger")
    by_id = _get(client, "/recipients", q="0641")
    by_start = _get(client, "/recipients", q="stadt")
    by_words = _get(client, "/recipients", q="frankfurt main")  # not a phrase: every word
    reordered = _get(client, "/recipients", q="main STADT")
    not_all = _get(client, "/recipients", q="frankfurt gerau")
    everyone = _get(client, "/recipients", limit=2)

    assert [r["name"] for r in by_word["items"]] == ["Stadt Frankfurt am Main"]
    assert by_word["total"] == 1 and by_phrase["total"] == 1
    assert [r["recipient_id"] for r in by_umlaut["items"]] == ["06433006"]
    assert [r["recipient_id"] for r in by_id["items"]] == ["06411000", "06412000"]
    assert by_start["total"] == 2  # a word's start, not the middle of "Wissenschaftsstadt"
    assert [r["recipient_id"] for r in by_words["items"]] == ["06412000"]
    assert [r["recipient_id"] for r in reordered["items"]] == ["06412000"]
    assert not_all["total"] == 0 and not_all["items"] == []
    assert everyone["total"] == 4 and len(everyone["items"]) == 2 and everyone["next_cursor"]


def test_an_id_of_several_words_is_found_whole_and_by_its_words(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    _registered(client, setup, ("r-aud-1", "Gemeinde Eins"), ("r-aud-12", "Gemeinde Zwölf"),
                ("hs-1", "Gemeinde Hessen"))

    whole = _get(client, "/recipients", q="r-aud-1")
    spaced = _get(client, "/recipients", q="R AUD 12")
    middle = _get(client, "/recipients", q="aud")

    assert [r["recipient_id"] for r in whole["items"]] == ["r-aud-1", "r-aud-12"]
    assert [r["recipient_id"] for r in spaced["items"]] == ["r-aud-12"]
    assert [r["recipient_id"] for r in middle["items"]] == ["r-aud-1", "r-aud-12"]


def test_names_with_umlauts_are_found_as_typed_without_them(client: TestClient) -> None:
    """'Büdingen' by 'büdingen', 'budingen' (a keyboard without umlauts) and 'buedingen'
    (spelt out), for recipients and for their applications alike."""
    setup = funded(client, recipients=1)
    _registered(client, setup, ("06440004", "Büdingen, Stadt"),
                ("06438008", "Bad König, Stadt"), ("06412000", "Stadt Frankfurt am Main"))
    application = _applied(client, setup, "06440004", "BÜ-1")

    found = {q: [r["recipient_id"] for r in _get(client, "/recipients", q=q)["items"]]
             for q in ("büdingen", "Budingen", "BUEDINGEN", "bud stadt", "bad konig",
                       "koenig", "König")}
    applications = _get(client, "/applications", q="budingen")
    by_reference = _get(client, "/applications", q="bu 1")

    assert found == {"büdingen": ["06440004"], "Budingen": ["06440004"],
                     "BUEDINGEN": ["06440004"], "bud stadt": ["06440004"],
                     "bad konig": ["06438008"], "koenig": ["06438008"],
                     "König": ["06438008"]}
    assert [a["application_id"] for a in applications["items"]] == [application]
    assert [a["application_id"] for a in by_reference["items"]] == [application]


def test_applications_are_found_by_reference_and_carry_recipient_names(
    client: TestClient,
) -> None:
    setup = funded(client, recipients=1)
    _registered(client, setup, ("06412000", "Stadt Frankfurt am Main"),
                ("06411000", "Wissenschaftsstadt Darmstadt"))
    frankfurt = _applied(client, setup, "06412000", "DA-2020/0017")
    darmstadt = _applied(client, setup, "06411000", "DA-2020/0018")

    exact = _get(client, "/applications", reference="da-2020-0017")
    by_name = _get(client, "/applications", q="darmst")
    by_reference = _get(client, "/applications", q="DA-2020")
    combined = _get(client, "/applications", q="DA-2020", recipient_id="06412000")
    none = _get(client, "/applications", reference="DA-2020")

    assert [a["application_id"] for a in exact["items"]] == [frankfurt]
    assert exact["items"][0]["recipient_name"] == "Stadt Frankfurt am Main"
    assert exact["total"] == 1
    assert [a["application_id"] for a in by_name["items"]] == [darmstadt]
    assert by_reference["total"] == 2
    assert [a["application_id"] for a in combined["items"]] == [frankfurt]
    assert none == none | {"items": [], "total": 0, "next_cursor": None}


def test_a_search_as_of_an_earlier_position_sees_only_what_existed(client: TestClient) -> None:
    setup = funded(client, recipients=1)
    _registered(client, setup, ("06412000", "Stadt Frankfurt am Main"),
                ("12053000", "Frankfurt (Oder)"))
    _applied(client, setup, "06412000", "F-1")
    before = head(client)
    _applied(client, setup, "12053000", "F-2")

    then = _get(client, "/applications", q="frankfurt", as_of_position=before)
    now = _get(client, "/applications", q="frankfurt")

    assert (then["total"], len(then["items"]), then["position"]) == (1, 1, before)
    assert now["total"] == 2


def test_a_search_with_no_letter_or_digit_is_refused(client: TestClient) -> None:
    response = client.get("/recipients", headers=auth("ida"), params={"q": "--"})

    assert (response.status_code, response.json()["code"]) == (422, "validation")


def test_unknown_parameters_of_the_lookups_are_refused(client: TestClient) -> None:
    for path in ("/programmes", "/recipients", "/applications"):
        response = client.get(path, headers=auth("ida"), params={"name": "x"})

        assert (response.status_code, response.json()["code"]) == (422, "validation")


def test_lookups_answer_every_role_and_not_without_a_key(client: TestClient) -> None:
    setup = funded(client, recipients=1)

    answers = [client.get(path, headers=auth(user), params={"min_position": head(client)})
               .status_code
               for path in ("/programmes", f"/programmes/{setup.programme_id}/phases",
                            "/recipients", "/applications")
               for user in ("ada", "clara", "anna", "fritz", "ida")]
    anonymous = client.get("/recipients").status_code

    assert set(answers) == {200} and anonymous == 401


@pytest.mark.parametrize("drives", [1, lookups.DRIVES])
def test_common_words_are_probed_and_answer_as_narrow_ones_do(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, drives: int,
) -> None:
    """A term matching DRIVES lookup rows or more is probed row by row, the narrowest is
    read as a set (lookups.matching); with DRIVES at 1 every term that matches at all is
    common, so pages probe every term and counts read sets. The answers are the same."""
    monkeypatch.setattr(lookups, "DRIVES", drives)
    setup = funded(client, recipients=1)
    _registered(client, setup, ("06412000", "Stadt Frankfurt am Main"),
                ("06411000", "Wissenschaftsstadt Darmstadt"), ("06433006", "Stadt Groß-Gerau"))
    frankfurt = _applied(client, setup, "06412000", "DA-2020/0017")
    darmstadt = _applied(client, setup, "06411000", "DA-2020/0018")
    before = head(client)
    gerau = _applied(client, setup, "06433006", "GG-7")

    def ids(path: str, **params: object) -> tuple[list[str], int]:
        page = _get(client, path, **params)
        key = "application_id" if path == "/applications" else "recipient_id"
        return sorted(item[key] for item in page["items"]), page["total"]

    assert ids("/recipients", q="stadt") == (["06412000", "06433006"], 2)
    assert ids("/recipients", q="main stadt") == (["06412000"], 1)
    assert ids("/recipients", q="stadt gross") == (["06433006"], 1)
    assert ids("/recipients", q="stadt nowhere") == ([], 0)
    assert ids("/applications", q="stadt") == (sorted([frankfurt, gerau]), 2)
    assert ids("/applications", q="stadt frank") == ([frankfurt], 1)
    assert ids("/applications", q="da 2020") == (sorted([frankfurt, darmstadt]), 2)
    assert ids("/applications", q="da 2020 darmstadt") == ([darmstadt], 1)
    assert ids("/applications", q="stadt", limit=1)[1] == 2
    assert ids("/applications", q="stadt", reference="gg 7") == ([gerau], 1)
    assert ids("/applications", q="stadt", as_of_position=before) == ([frankfurt], 1)
    assert ids("/applications", q="da darmstadt", as_of_position=before) == ([darmstadt], 1)
