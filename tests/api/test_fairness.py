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

    def hopeless() -> tuple[int, str, str, float]:
        started.wait()
        begin = time.monotonic()
        response = client.get("/applications", headers=auth("clara"),
                              params={"min_position": ABSURD})
        problem = response.json()
        return (response.status_code, problem["code"], problem["detail"],
                time.monotonic() - begin)

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
    assert {(status, code) for status, code, *_ in answers} == {(503, "projection_lagging")}
    # Beyond the bound of waiters per process the answer comes at once ("already wait"),
    # not after the wait of WAIT_SECONDS (5 s) the others get. Told by the answer, not
    # by its time: on a machine busy with the rest of the suite every answer of the
    # 48 once came back later than half the wait, the refused ones too.
    refused = [seconds for _, _, detail, seconds in answers if "already wait" in detail]
    waited = [seconds for _, _, detail, seconds in answers if "within" in detail]
    assert len(refused) >= 48 - 32 - 4 and len(refused) + len(waited) == 48, answers
    assert sum(1 for seconds in waited if seconds >= WAIT_SECONDS * 0.9) >= 32 - 4
