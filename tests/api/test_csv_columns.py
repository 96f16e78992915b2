"""Every list answered as CSV names its columns, also when a filter matches nothing: an
empty page was a bare line break, which a CSV reader takes for a file without columns
(pandas: EmptyDataError)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from api import tabular
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok

AS_CSV = {"Accept": "text/csv"}


def _header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)), [])


def test_every_list_names_its_columns_full_or_empty(client: TestClient) -> None:
    setup = funded(client)
    application = approved(client, setup)
    ok(client.post(f"/applications/{application}/drawdowns", headers=auth("clara"),
                   json={"amount": "10.00", "requested_on": "2020-05-01"}), 201)
    now = {"min_position": head(client)}
    pid, phase = setup.programme_id, setup.phase_id
    # (path, the fields its items have, a query that lists nothing)
    lists: list[tuple[str, tuple[str, ...], dict[str, object] | None]] = [
        ("/programmes", tabular.PROGRAMME_COLUMNS, {"as_of_position": 0}),
        (f"/programmes/{pid}/phases", tabular.PHASE_COLUMNS, {"as_of_position": 1}),
        (f"/programmes/{pid}/reconciliation/2020/committed/entries", tabular.ENTRY_COLUMNS,
         {"effective_on": "2020-01-01"}),
        ("/recipients", tabular.RECIPIENT_COLUMNS, {"q": "zzzz"}),
        ("/audit", tabular.AUDIT_COLUMNS, {"actor": "nobody"}),
        ("/applications", tabular.APPLICATION_COLUMNS, {"status": "closed"}),
        (f"/applications/{application}/history", tabular.AUDIT_COLUMNS, None),
        (f"/phases/{phase}/totals/awarded/entries", tabular.ENTRY_COLUMNS,
         {"effective_on": "2020-01-01"}),
        (f"/phases/{phase}/totals/requested/entries", tabular.ENTRY_COLUMNS,
         {"effective_on": "2020-01-01"}),
    ]

    # (CSV is rate-limited per key: 10 a second)
    users = ["ida", "fritz"] * 5
    for path, columns, nothing in lists:
        user = users.pop()
        items = ok(client.get(path, headers=auth(user), params=now))["items"]
        full = client.get(path, headers={**auth(user), **AS_CSV}, params=now)
        assert items and list(items[0]) == list(columns), (path, list(items[0]))
        assert full.status_code == 200 and _header(full.text) == list(columns), path
        if nothing is None:
            continue  # (an application has its history)
        empty = client.get(path, headers={**auth(user), **AS_CSV}, params={**now, **nothing})
        assert empty.status_code == 200, (path, empty.text)
        assert _header(empty.text) == list(columns) and len(empty.text.splitlines()) == 1, (
            path, empty.text)
    events = client.get("/events", headers={**auth("ida"), **AS_CSV})
    no_events = client.get("/events", headers={**auth("ida"), **AS_CSV},
                           params={"after": head(client)})
    assert _header(events.text) == _header(no_events.text) == list(tabular.EVENT_COLUMNS)
