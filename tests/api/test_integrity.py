"""`GET /integrity` answers from the verified checkpoint and checks digests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledger.keeper import IntegrityKeeper
from tests.api.conftest import ClientFactory, auth
from tests.api.scenario import approved, funded, ok
from tests.support.tamper import Insider


def _digest(client: TestClient) -> tuple[int, str]:
    answer = ok(client.get("/integrity", headers=auth("ida")))
    return answer["head_position"], answer["head_hash"]


def test_integrity_says_how_far_it_has_verified(client: TestClient) -> None:
    setup = funded(client)
    first = ok(client.get("/integrity", headers=auth("ida")))
    approved(client, setup)

    answer = ok(client.get("/integrity", headers=auth("ida")))

    assert answer["verified"] is True
    assert answer["verified_position"] == answer["head_position"] == answer["position"]
    assert answer["verified_position"] > first["verified_position"]
    assert answer["verified_hash"] == answer["head_hash"]
    assert answer["verified_at"].endswith("Z") and answer["digest"] is None


def test_a_valid_digest_passes_and_one_beyond_the_log_fails(client: TestClient) -> None:
    setup = funded(client)
    position, head = _digest(client)
    approved(client, setup)

    good = ok(client.get("/integrity", params={"digest": f"{position}:{head}"},
                         headers=auth("ida")))
    beyond = ok(client.get("/integrity", params={"digest": f"{position + 10**6}:{head}"},
                           headers=auth("ida")))

    assert good["verified"] is True
    assert good["digest"] == {"position": position, "hash": head, "verified": True,
                              "problem": None}
    assert beyond["verified"] is False and beyond["digest"]["verified"] is False
    assert "beyond the log" in beyond["digest"]["problem"]
    assert good["problem"] is None
    assert beyond["problem"] == f"the digest: {beyond['digest']['problem']}"


def test_a_malformed_digest_is_a_validation_problem(client: TestClient) -> None:
    for digest in ("12", "x:abc", f"-1:{'0' * 64}", f"1:{'g' * 64}", f"{'9' * 30}:{'0' * 64}"):
        response = client.get("/integrity", params={"digest": digest}, headers=auth("ida"))

        assert response.status_code == 422, (digest, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation"


def test_the_digest_dodge_is_caught(postgres_url: str, make_client: ClientFactory) -> None:
    client = make_client(postgres_url)
    setup = funded(client)
    position, head = _digest(client)
    approved(client, setup)
    approved(client, setup, recipient=1)
    Insider(postgres_url).dodge_digest(position)

    answer = ok(client.get("/integrity", params={"digest": f"{position}:{head}"},
                           headers=auth("ida")))

    assert answer["verified"] is False
    assert answer["digest"]["verified"] is False
    assert f"no link at the digest's position {position}" == answer["digest"]["problem"]
    assert f"the digest: {answer['digest']['problem']}" in answer["problem"]


def test_a_tampered_row_after_the_checkpoint_is_reported_with_its_position(
        client: TestClient, sql_database_url: str) -> None:
    setup = funded(client)
    ok(client.get("/integrity", headers=auth("ida")))
    approved(client, setup)
    insider = Insider(sql_database_url)
    target = insider.positions()[-1]
    insider.alter_event(target)

    answer = ok(client.get("/integrity", headers=auth("ida")))

    assert answer["verified"] is False
    assert answer["broken_at"] == target
    assert answer["verified_position"] < target
    assert str(target) in answer["problem"]


def test_the_keepers_answer_is_served_as_computed_and_says_what_it_verified(
        client: TestClient) -> None:
    setup = funded(client)
    computed = ok(client.get("/integrity", headers=auth("ida")))
    keeper = IntegrityKeeper(client.app.state.ledger, max_age=60)  # type: ignore[attr-defined]  # a FastAPI app
    keeper.step()
    client.app.state.integrity_keeper = keeper  # type: ignore[attr-defined]  # as `ledger serve` sets it

    kept = ok(client.get("/integrity", headers=auth("ida")))
    approved(client, setup)  # links the kept answer has not seen
    still = ok(client.get("/integrity", headers=auth("ida")))
    with_digest = ok(client.get("/integrity", params={"digest": f"{kept['position']}:"
                                                      f"{kept['head_hash']}"},
                                headers=auth("ida")))

    assert kept == {**computed, "verified_at": kept["verified_at"]}
    assert still == kept  # a moment old: what was verified then, no more
    assert with_digest["head_position"] > kept["head_position"]  # a digest is computed
    assert with_digest["digest"]["verified"] is True
