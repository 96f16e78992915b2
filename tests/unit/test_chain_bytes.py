"""The chain's hand-built header hashes exactly the bytes of its JSON definition (SPEC §2),
so a log written in bulk verifies like one written event by event, and old logs still do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from ledger.persistence.chain import (
    GENESIS,
    ChainedEvent,
    build_links,
    format_recorded_at,
    link,
    verify_chain,
)
from tests.support.reference_chain import reference_link, reference_time

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC))


@given(position=st.integers(1, 2**62), version=st.integers(1, 2**62),
       uuid=st.uuids(), text_id=st.text(), use_text=st.booleans(), topic=st.text(),
       state=st.binary(), moment=moments, previous=st.binary(min_size=32, max_size=32))
def test_the_link_hashes_the_bytes_of_its_json_header(
    position: int, version: int, uuid: UUID, text_id: str, use_text: bool, topic: str,
    state: bytes, moment: datetime, previous: bytes,
) -> None:
    fields = {"position": position, "recorded_at": moment,
              "originator_id": text_id if use_text else uuid,
              "originator_version": version, "topic": topic, "state": state}

    assert link(previous, **fields) == reference_link(previous, **fields)  # type: ignore[arg-type]  # the fields of both signatures


def test_built_links_chain_in_position_order_whatever_order_they_come_in() -> None:
    ids = [UUID(int=n) for n in range(5)]
    stored = [(ids[n], n + 1, "ledger.domain.phase:Phase.Received", b'{"n":%d}' % n)
              for n in range(5)]
    positions = [12, 10, 11, 14, 13]

    links = build_links(GENESIS, None, positions, stored)

    assert [row[0] for row in links] == [10, 11, 12, 13, 14]
    previous = GENESIS
    by_position = dict(zip(positions, stored, strict=True))
    for position, originator_id, version, recorded_at, digest in links:
        _, _, topic, state = by_position[position]
        previous = reference_link(previous, position=position, recorded_at=recorded_at,
                                  originator_id=originator_id, originator_version=version,
                                  topic=topic, state=state)
        assert digest == previous


def test_a_batch_shares_one_recorded_time_never_before_the_previous_one() -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    stored = [(UUID(int=n), 1, "t", b"{}") for n in range(3)]

    links = build_links(GENESIS, later, [1, 2, 3], stored)

    assert {row[3] for row in links} == {later}


def test_verify_accepts_built_links_and_finds_a_changed_state() -> None:
    stored = [(UUID(int=n), 1, "ledger:T", b'{"a":"\\u00e9"}') for n in range(4)]
    links = build_links(GENESIS, None, [1, 2, 3, 4], stored)
    rows = [ChainedEvent(p, UUID(str(o)), v, stored[p - 1][2], stored[p - 1][3], at, h)
            for p, o, v, at, h in links]

    assert verify_chain(rows).verified
    tampered = [*rows[:2], ChainedEvent(**{**vars(rows[2]), "state": b'{"a":"x"}'}), rows[3]]
    assert verify_chain(tampered).broken_at == 3


@given(moment=st.datetimes(timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))])))
def test_a_recorded_time_is_written_as_strftime_wrote_it(moment: datetime) -> None:
    assert format_recorded_at(moment) == reference_time(moment)
