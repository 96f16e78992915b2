"""Issue 9, finding 2 over HTTP: a phase's envelope raised inside its stored snapshot
does not let an approval overspend it, and /integrity reports the altered snapshot."""

from __future__ import annotations

from ledger import Settings, build_ledger
from tests.api.conftest import ClientFactory, auth
from tests.support.scenario import phase_at_its_first_snapshot
from tests.support.tamper import Insider


def test_an_envelope_raised_in_the_snapshot_does_not_decide(
    sql_database_url: str, make_client: ClientFactory
) -> None:
    ledger = build_ledger(Settings(database_url=sql_database_url))
    funded, application_ids = phase_at_its_first_snapshot(ledger)
    ledger.close()
    assert Insider(sql_database_url).edit_snapshots('"1000.00"', '"9000000.00"') == 1
    client = make_client(sql_database_url)  # a restart: nothing cached

    approval = client.post(f"/applications/{application_ids[0]}/approve", headers=auth("anna"),
                           json={"approved_amount": "5000.00", "decided_on": "2020-03-02"})
    phase = client.get(f"/phases/{funded.phase_id}", headers=auth("ida"),
                       params={"min_position": 1})
    integrity = client.get("/integrity", headers=auth("ida")).json()

    assert (approval.status_code, approval.json()["code"]) == (409, "budget_exceeded")
    assert phase.json()["envelope"] == "1000.00"
    assert integrity["verified"] is False
    assert any(f"snapshot of phase {funded.phase_id}" in problem
               for problem in integrity["snapshot_problems"])
    assert integrity["problem"] == f"snapshots: {'; '.join(integrity['snapshot_problems'])}"
