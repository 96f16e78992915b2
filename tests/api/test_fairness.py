"""Fair under load (issue 9, finding 6): one caller cannot slow everyone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from api.deps import WAIT_SECONDS
from tests.api.conftest import auth
from tests.api.scenario import funded, head, ok

ABSURD = 1_000_000_000_000_000


def test_48_unreachable_min_positions_do_not_stall_an_unrelated_read(client: TestClient) -> None:
    setup = funded(client)
    ok(client.get(f"/phases/{setup.phase_id}", headers=auth("ida"),
                  params={"min_position": head(client)}))
    started = threading.Barrier(49)

    def hopeless() -> tuple[int, str, float]:
        started.wait()
        begin = time.monotonic()
        response = client.get("/applications", headers=auth("clara"),
                              params={"min_position": ABSURD})
        return response.status_code, response.json()["code"], time.monotonic() - begin

    with ThreadPoolExecutor(48) as pool:
        waiting = [pool.submit(hopeless) for _ in range(48)]
        started.wait()
        time.sleep(0.5)  # the waiters are in their wait now
        begin = time.monotonic()
        unrelated = client.get(f"/phases/{setup.phase_id}", headers=auth("ida"))
        took = time.monotonic() - begin
        answers = [future.result() for future in waiting]

    assert unrelated.status_code == 200, unrelated.text
    # Stalled, it waits for the waiters' WAIT_SECONDS (5 s); unstalled it takes
    # milliseconds, but a CI machine busy with other work took 1.15 s once (a 1 s bound)
    assert took < WAIT_SECONDS / 2, (
        f"an unrelated read took {took:.2f} s behind 48 waiting requests")
    assert {(status, code) for status, code, _ in answers} == {(503, "projection_lagging")}
    # Beyond the bound of waiters per process the answer comes at once, not after the
    # wait of WAIT_SECONDS (5 s) the others get: well under half of it even on a machine
    # busy with the rest of the suite (a 1 s bound failed there once).
    assert sum(1 for *_, seconds in answers if seconds < WAIT_SECONDS / 2) >= 48 - 32
    assert sum(1 for *_, seconds in answers if seconds >= WAIT_SECONDS * 0.9) >= 32 - 4
