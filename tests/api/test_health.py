"""GET /health is loud about projections: failing or lagging → 503 with the details,
on SQLite and PostgreSQL, and every worker on one database says the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from ledger import Settings
from tests.api.conftest import ClientFactory, auth, suffix
from tests.support.faults import Breakable, LogRecorder, breaking, eventually


def _create_programme(client: TestClient) -> int:
    response = client.post("/programmes", headers=auth("ada"), json={
        "programme_id": f"p-{suffix()}", "name": "Starke Heimat", "funder": "Hessen"})
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def _projection(health: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in health["projections"] if p["name"] == name)


def _degraded(client: TestClient) -> dict[str, Any] | None:
    response = client.get("/health")
    return response.json() if response.status_code == 503 else None


def _healthy(client: TestClient) -> dict[str, Any] | None:
    response = client.get("/health")
    return response.json() if response.status_code == 200 else None


def _caught_up(health: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if health is None or _projection(health, name)["lag"]:
        return None
    return _projection(health, name)


def _roles(*clients: TestClient) -> list[str] | None:
    """The runners' roles once every one has decided (leader or follower)."""
    roles = sorted(c.get("/health").json()["runner"] for c in clients)
    return roles if set(roles) <= {"leader", "follower"} else None


def test_a_failing_projection_makes_health_503_until_it_recovers(
    sql_database_url: str, make_client: ClientFactory
) -> None:
    made: list[Breakable] = []
    logs = LogRecorder()
    client = make_client(sql_database_url, read_models=breaking("grants", made, logs=logs))
    grants = made[0]

    position = _create_programme(client)
    health = eventually(lambda: _degraded(client))
    eventually(lambda: grants.failures >= 3)  # retried, and still one failure

    failing = _projection(health, "grants")
    assert health["status"] == "degraded" and health["database"] == "ok"
    assert failing["status"] == "failing" and failing["position"] < position
    assert failing["lag"] == health["head"] - failing["position"] >= 1
    assert "corrupt row" in failing["error"] and failing["failing_since"]
    audit = eventually(lambda: _caught_up(_degraded(client), "audit"))
    assert audit["status"] == "ok" and audit["error"] is None  # the healthy one keeps up
    # The runner logs right after its status row commits: /health may see the row first.
    eventually(lambda: logs.events("projection_failed"))
    assert [e["projection"] for e in logs.events("projection_failed")] == ["grants"]

    grants.broken = False
    recovered = eventually(lambda: _healthy(client))

    assert recovered["status"] == "ok"
    assert _projection(recovered, "grants") == {
        "name": "grants", "position": recovered["head"], "lag": 0, "status": "ok",
        "error": None, "failing_since": None, "fix": None, "rebuilding": None}
    eventually(lambda: logs.events("projection_recovered"))
    assert len(logs.events("projection_failed")) == 1
    assert [e["projection"] for e in logs.events("projection_recovered")] == ["grants"]


def test_every_worker_reports_the_leaders_failure(
    sql_database_url: str, make_client: ClientFactory
) -> None:
    made: list[Breakable] = []
    first = make_client(sql_database_url, read_models=breaking("grants", made))
    second = make_client(sql_database_url, read_models=breaking("grants", made))
    for wrapped in made:
        wrapped.broken = True

    roles = eventually(lambda: _roles(first, second))
    _create_programme(second)
    answers = [eventually(lambda c=c: _degraded(c)) for c in (first, second)]

    assert roles == ["follower", "leader"]
    grants = [_projection(a, "grants") for a in answers]
    assert grants[0]["status"] == grants[1]["status"] == "failing"
    assert grants[0]["error"] == grants[1]["error"] and "corrupt row" in grants[0]["error"]
    assert grants[0]["failing_since"] == grants[1]["failing_since"]

    for wrapped in made:
        wrapped.broken = False
    assert all(eventually(lambda c=c: _healthy(c)) for c in (first, second))


def test_a_projection_lagging_beyond_the_threshold_makes_health_503(
    sql_database_url: str, keys_file: Path
) -> None:
    settings = Settings(database_url=sql_database_url, api_keys_file=keys_file,
                        projection_max_lag=1)
    with TestClient(create_app(settings, keep_current=False)) as client:
        _create_programme(client)
        _create_programme(client)

        lagging = client.get("/health")
        client.app.state.read_models.catch_up()  # type: ignore[attr-defined]
        caught_up = client.get("/health")

    assert lagging.status_code == 503
    assert lagging.json()["max_lag"] == 1 and lagging.json()["runner"] == "off"
    assert {p["status"] for p in lagging.json()["projections"]} == {"lagging"}
    assert all(p["lag"] == 2 and p["error"] is None for p in lagging.json()["projections"])
    assert caught_up.status_code == 200 and caught_up.json()["status"] == "ok"


def test_the_openapi_document_describes_a_degraded_health_answer(memory_client: TestClient
                                                                 ) -> None:
    responses = memory_client.get("/openapi.json").json()["paths"]["/health"]["get"][
        "responses"]

    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"}


def test_a_missing_read_model_table_is_a_503_not_a_500(
    sql_database_url: str, make_client: ClientFactory
) -> None:
    """The audit trail reads its table; renamed under it (an operator, or a failing
    projection's table, as a drill-down met it) the answer is a 503 problem with
    Retry-After on both engines — never a 500 with a traceback — and the same request
    answers once it is back."""
    client = make_client(sql_database_url)
    _create_programme(client)
    path = "/audit"
    read_models = client.app.state.read_models  # type: ignore[attr-defined]
    with read_models.db.write() as tx:
        tx.execute("ALTER TABLE proj_audit_v1 RENAME TO proj_audit_gone")
    try:
        missing = client.get(path, headers=auth("ida"))
    finally:
        with read_models.db.write() as tx:
            tx.execute("ALTER TABLE proj_audit_gone RENAME TO proj_audit_v1")
    back = client.get(path, headers=auth("ida"))

    assert (missing.status_code, missing.json()["code"]) == (503, "storage_unavailable")
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["retry-after"] == "5"
    assert back.status_code == 200, back.text


def test_connections_the_server_closed_fail_one_request_not_one_each(
    postgres_url: str, make_client: ClientFactory
) -> None:
    """PostgreSQL restarted, or an operator terminated the backends: the read pool's
    idle connections are dead. The first request meeting one gets a clean 503 and makes
    the pools drop every dead one, so the next requests answer (before: each dead
    connection failed a request of its own); /health asks once more on live connections
    instead of calling the database unreachable."""
    import psycopg

    from tests.conftest import PG_DSN

    client = make_client(postgres_url)
    _create_programme(client)
    db = client.app.state.read_models.db  # type: ignore[attr-defined]

    def kill_idle_connections() -> int:
        with db._pool.connection() as a, db._pool.connection() as b, \
                db._pool.connection() as c:  # three idle ones once returned
            pids = [conn.info.backend_pid for conn in (a, b, c)]
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return len(pids)

    kill_idle_connections()
    statuses = [client.get("/audit", headers=auth("ida"), params={"limit": n}).status_code
                for n in range(1, 7)]  # each its own answer: none kept from before
    kill_idle_connections()
    health = client.get("/health")

    assert statuses.count(503) <= 1 and statuses[-5:] == [200] * 5, statuses
    assert health.status_code == 200 and health.json()["database"] == "ok", health.text


def test_a_rebuild_under_way_shows_its_progress_on_every_worker(
    postgres_url: str, keys_file: Path
) -> None:
    """While a rebuild holds its lock (`ledger replay`, or a server far behind: the live
    version's position stands still meanwhile), /health shows each new version's tag,
    position and lag — read from the database, so a worker that does not run it says the
    same. A version left by a crashed rebuild (its tables, no lock) is not progress."""
    from projections.leader import lock_for
    from projections.runner import create_tables

    settings = Settings(database_url=postgres_url, api_keys_file=keys_file)
    other = lock_for(postgres_url, "rebuild")  # as the rebuilding process holds it
    with TestClient(create_app(settings, keep_current=False)) as first, \
            TestClient(create_app(settings, keep_current=False)) as second:
        position = _create_programme(first)
        _create_programme(first)
        read_models: Any = first.app.state.read_models  # type: ignore[attr-defined]
        read_models.catch_up()
        runner = read_models.runner
        with read_models.db.schema() as tx:
            live = runner.live_tags(tx)
            create_tables(tx, runner.projections["grants"], "v2", indexes=False)
            tx.execute("UPDATE proj_tracking SET position = ? WHERE projection = 'grants' "
                       "AND tag = 'v2'", (position,))
        leftover = first.get("/health").json()
        try:
            assert other.hold()
            under_way = [c.get("/health").json() for c in (first, second)]
        finally:
            other.release()
        after = first.get("/health").json()

    head = leftover["head"]
    assert live == {"audit": "v1", "grants": "v1"}
    assert [p["rebuilding"] for p in leftover["projections"]] == [None, None]
    for health in under_way:
        assert _projection(health, "grants")["rebuilding"] == {
            "tag": "v2", "position": position, "lag": head - position}
        assert _projection(health, "grants")["position"] == head  # the live version's
        assert _projection(health, "audit")["rebuilding"] is None  # not being rebuilt
    assert [p["rebuilding"] for p in after["projections"]] == [None, None]
