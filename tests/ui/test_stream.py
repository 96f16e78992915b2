"""GET /events/stream on a real socket: a new event arrives within a second of its
command; Last-Event-ID resumes; filters by event type and entity; keep-alives; roles."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import api.feed
from tests.ui.conftest import Site, key_of

Frames = "queue.Queue[tuple[float, dict[str, str]]]"


def listen(site: Site, user: str = "fritz", *, headers: dict[str, str] | None = None,
           **params: Any) -> tuple[Any, threading.Event]:
    """Reads the stream in a thread; every frame (id, data, comment) lands in the queue
    with the monotonic time it arrived."""
    frames: queue.Queue[tuple[float, dict[str, str]]] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            read(frames, stop)
        except httpx.HTTPError:  # the server stopped at the end of the session
            return

    def read(frames: Any, stop: threading.Event) -> None:
        with httpx.stream("GET", site.url + "/events/stream", params=params, timeout=None,
                          headers={"Authorization": f"Bearer {key_of(user)}",
                                   **(headers or {})}) as answer:
            frames.put((time.monotonic(), {"status": str(answer.status_code)}))
            frame: dict[str, str] = {}
            for line in answer.iter_lines():
                if stop.is_set():
                    return
                if not line:
                    if frame:
                        frames.put((time.monotonic(), frame))
                    frame = {}
                    continue
                name, _, value = line.partition(":")
                frame[name or "comment"] = value.strip()

    threading.Thread(target=run, daemon=True).start()
    return frames, stop


def next_event(frames: Any, timeout: float = 5.0) -> tuple[float, dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        at, frame = frames.get(timeout=max(0.01, deadline - time.monotonic()))
        if "data" in frame:
            return at, frame


@pytest.fixture
def stream(site: Site) -> Iterator[Any]:
    stops: list[threading.Event] = []

    def open_stream(**kwargs: Any) -> Any:
        frames, stop = listen(site, **kwargs)
        stops.append(stop)
        assert frames.get(timeout=10)[1]["status"] == "200"
        assert "retry" in frames.get(timeout=10)[1]
        return frames

    yield open_stream
    for stop in stops:
        stop.set()


def head(site: Site) -> int:
    return int(site.get("/integrity")["position"])


def repay(site: Site, rid: str, amount: str = "1.00") -> int:
    application_id = site.scenario["application_ids"][rid]
    answer = site.post(f"/applications/{application_id}/repayments", {
        "amount": amount, "received_on": "2021-03-01", "reason": "feed test"}, "fritz")
    return int(answer["position"])


def test_delivers_a_new_event_within_a_second_of_its_command(site: Site, stream: Any) -> None:
    frames = stream(after=head(site))

    position = repay(site, "06435006")
    done = time.monotonic()

    arrived, frame = next_event(frames)
    event = json.loads(frame["data"])
    assert int(frame["id"]) == event["position"] <= position
    assert arrived - done < 1.0
    seen = [event["position"]]
    while seen[-1] < position:
        seen.append(int(next_event(frames)[1]["id"]))
    assert seen[-1] == position


def test_resumes_after_last_event_id(site: Site, stream: Any) -> None:
    first = site.get("/events", after=10, limit=3)["items"]

    frames = stream(after=0, headers={"Last-Event-ID": str(first[0]["position"])})

    event = json.loads(next_event(frames)[1]["data"])
    assert event["position"] == first[1]["position"]
    assert event["hash"] == first[1]["hash"]


def test_filters_by_event_type_and_entity(site: Site, stream: Any) -> None:
    application_id = site.scenario["application_ids"]["06435017"]

    frames = stream(after=0, entity_id=application_id, event_type="Approved")

    event = json.loads(next_event(frames)[1]["data"])
    assert event["aggregate_id"] == application_id
    assert event["event_type"] == "Application.Approved"
    position = repay(site, "06435017")
    assert frames.empty() or all("data" not in f for _, f in list(frames.queue))
    assert position > event["position"]


def test_phase_entity_sees_its_own_events(site: Site, stream: Any) -> None:
    frames = stream(after=0, entity_id="2020-1")

    event = json.loads(next_event(frames)[1]["data"])

    assert event["event_type"].startswith("Phase.")


def test_sends_keep_alives_while_quiet(site: Site, stream: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.feed, "KEEP_ALIVE_SECONDS", 0.3)

    frames = stream(after=head(site), event_type="NoSuchEvent")

    _, frame = frames.get(timeout=5)
    assert frame.get("comment", "").startswith(("keep-alive", "position"))


@pytest.mark.parametrize(("user", "status"), [("clara", 403), ("anna", 403)])
def test_refuses_roles_other_than_auditor_and_finance(site: Site, user: str,
                                                      status: int) -> None:
    answer = httpx.get(site.url + "/events/stream", timeout=10,
                       headers={"Authorization": f"Bearer {key_of(user)}"})

    assert answer.status_code == status


def test_refuses_without_key_and_bad_last_event_id(site: Site) -> None:
    assert httpx.get(site.url + "/events/stream", timeout=10).status_code == 401
    answer = httpx.get(site.url + "/events/stream", timeout=10, headers={
        "Authorization": f"Bearer {key_of('ida')}", "Last-Event-ID": "x"})
    assert answer.status_code == 422
