"""One projection runner per database: the lock, and two read sides in one process."""

from __future__ import annotations

from ledger import Actor, Settings, build_ledger
from projections import build_read_models
from projections.leader import Sole, leadership_for
from tests.support.faults import eventually

ADMIN = Actor(user="ada", role="admin", correlation_id="test")


def test_one_holder_of_the_lock_until_it_lets_go(sql_database_url: str) -> None:
    first, second = leadership_for(sql_database_url), leadership_for(sql_database_url)

    try:
        taken = first.hold(), second.hold(), first.hold()
        first.release()
        handed_over = second.hold()
    finally:
        first.release()
        second.release()

    assert taken == (True, False, True)
    assert handed_over


def test_a_memory_ledger_always_leads() -> None:
    assert isinstance(leadership_for("memory://"), Sole) and Sole().hold()


def test_two_read_sides_on_one_database_run_the_projections_once(sql_database_url: str) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    sides = [build_read_models(settings, build_ledger(settings), interval=0.02) for _ in range(2)]
    for side in sides:
        side.runner.follow_interval = 0.05
        side.start()
    try:
        roles = [side.runner_role() for side in sides]
        position = ledger.create_programme(ADMIN, programme_id="p-lead", name="Starke Heimat",
                                           funder="Hessen").position
        follower_read = sides[roles.index("follower")].wait_for(position, timeout=30)

        leader = sides[roles.index("leader")]
        leader.close()  # the leader goes away: the follower takes over
        survivor = sides[roles.index("follower")]
        taken_over = eventually(lambda: survivor.runner_role() == "leader")
        later = ledger.create_programme(ADMIN, programme_id="p-lead-2", name="Starke Heimat 2",
                                        funder="Hessen").position
        survivor_read = survivor.wait_for(later, timeout=30)
    finally:
        for side in sides:
            side.close()
        ledger.close()

    assert sorted(roles) == ["follower", "leader"]
    assert follower_read and taken_over and survivor_read
