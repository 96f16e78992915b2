"""A digest that does not match an intact chain is a failed digest, not a broken chain:
the walk goes on to the head and says both (`ledger verify --digest`)."""

from __future__ import annotations

from uuid import UUID

from ledger.persistence.chain import GENESIS, ChainedEvent, build_links, verify_chain


def _rows(positions: list[int]) -> list[ChainedEvent]:
    stored = [(UUID(int=n), 1, "ledger:T", b'{"n":%d}' % n) for n in range(len(positions))]
    links = build_links(GENESIS, None, positions, stored)
    return [ChainedEvent(p, UUID(str(o)), v, stored[n][2], stored[n][3], at, h)
            for n, (p, o, v, at, h) in enumerate(links)]


def test_a_wrong_digest_fails_but_the_chain_is_walked_whole_and_intact() -> None:
    rows = _rows([1, 2, 3, 4, 5])

    report = verify_chain(rows, digest=(2, "1" * 64))

    assert not report.verified and report.intact
    assert report.broken_at == 2 and report.digest == (2, "1" * 64)
    assert report.found == rows[1].hash.hex()
    assert (report.checked, report.head_position) == (5, 5)
    assert report.head_hash == rows[4].hash.hex()


def test_a_digest_beyond_the_log_or_between_its_links_finds_nothing() -> None:
    rows = _rows([1, 2, 4, 5])  # PostgreSQL's positions have gaps

    beyond = verify_chain(rows, digest=(9, rows[3].hash.hex()))
    between = verify_chain(rows, digest=(3, rows[1].hash.hex()))

    assert beyond.intact and beyond.found is None and beyond.head_position == 5
    assert "beyond the log" in (beyond.problem or "")
    assert between.intact and between.found is None and between.checked == 4
    assert "no link at the digest's position 3" in (between.problem or "")


def test_a_wrong_genesis_digest_is_a_failed_digest() -> None:
    report = verify_chain(_rows([1, 2]), digest=(0, "1" * 64))

    assert report.intact and report.broken_at == 0 and report.found == GENESIS.hex()


def test_a_changed_row_after_a_wrong_digest_is_still_a_broken_chain() -> None:
    rows = _rows([1, 2, 3, 4])
    rows[3] = ChainedEvent(**{**vars(rows[3]), "state": b'{"n":99}'})

    report = verify_chain(rows, digest=(1, "1" * 64))

    assert not report.intact and report.broken_at == 4 and report.digest is None
    assert "does not match its stored hash" in (report.problem or "")


def test_a_digest_the_chain_must_hold_breaks_it() -> None:
    rows = _rows([1, 2, 3])

    report = verify_chain(rows, digests=[(2, "1" * 64)])

    assert not report.intact and report.broken_at == 2 and report.checked == 1
