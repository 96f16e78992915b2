"""The app factory: `uvicorn --factory api.main:create_app`.

Nothing is built at import: the lifespan builds the Ledger, the read models and
the key table from Settings, and closes them on shutdown.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from api.auth import ApiKeys
from api.authentication import AuthenticationMiddleware
from api.errors import install_error_handlers
from api.feed import on_stop_signals
from api.metrics import install_metrics
from api.middleware import BodyLimitMiddleware, HeadMiddleware, RequestContextMiddleware
from api.openapi import install_openapi
from api.query import refuse_unknown_query, route_facts
from api.ratelimit import RateLimitMiddleware
from api.routers import (
    applications,
    audit,
    grants,
    health,
    phases,
    programmes,
    recipients,
    stream,
    whoami,
)
from api.shortcut import KeptAnswerMiddleware, KeptQuestions
from api.ui import install_ui
from ledger import Ledger, Settings, build_ledger
from ledger.heap import settle_heap
from ledger.keeper import IntegrityKeeper, child_catch_up
from ledger.version import VERSION
from projections.interface import ReadModels

log = structlog.get_logger("api")

ReadModelsFactory = Callable[[Settings, Ledger], ReadModels | None]

DESCRIPTION = """\
An event-sourced, double-entry ledger for public grant programmes.

* **Auth**: `Authorization: Bearer <key>`; keys and roles come from `LEDGER_API_KEYS_FILE`.
* **Errors**: RFC 9457 `application/problem+json` with a stable `code`.
* **Idempotency**: every POST takes `Idempotency-Key`.
* **As of**: queries take `as_of`, `as_of_position` and `min_position`.
"""


def default_read_models(settings: Settings, ledger: Ledger) -> ReadModels:
    """The read side of projections/, on the same store as the ledger."""
    from projections import build_read_models

    return build_read_models(settings, ledger, keep_answers=True, rebuild_far_behind=True)


async def _to_docs(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{request.scope.get('root_path', '')}/docs")


def create_app(
    settings: Settings | None = None,
    *,
    read_models_factory: ReadModelsFactory | None = None,
    keep_current: bool = True,
    keep_integrity: bool | None = None,
    settle: bool = False,
) -> FastAPI:
    """Builds the API; the Ledger is created when the app starts, never at import.

    `keep_current` runs the projection runner thread while the app is up (what
    `ledger serve` wants); without it, queries catch up only for `min_position`.
    `keep_integrity` (default: as `keep_current`) keeps the verified integrity
    checkpoint near the head in a thread of its own (ledger/keeper.py).
    """
    factory = read_models_factory or default_read_models

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = settings or Settings()
        ledger = build_ledger(chosen)
        app.state.settings = chosen
        app.state.ledger = ledger
        app.state.api_keys = ApiKeys.load(chosen.api_keys_file)
        read_models = factory(chosen, ledger)
        app.state.read_models = read_models
        app.state.kept_questions = KeptQuestions()  # api/shortcut.py
        starter = getattr(read_models, "start", None)
        if keep_current and callable(starter):
            starter()
        keeper = IntegrityKeeper(ledger, catch_up=child_catch_up(chosen))
        app.state.integrity_keeper = None
        if keep_current if keep_integrity is None else keep_integrity:
            keeper.start()
            app.state.integrity_keeper = keeper  # its current answer serves GET /integrity
        if settle:
            # Before settling (what it builds lives as long as the app), and in the
            # threadpool, whose backend is imported and first thread started by it too.
            await run_in_threadpool(_prepare_routes, app)
            prepare = getattr(read_models, "prepare", None)
            if callable(prepare):
                try:  # (its pools and versions; else the first requests open and read them)
                    await prepare()
                except Exception as exc:  # the first requests try again, and say so
                    log.warning("read_side_not_prepared", error=repr(exc))
            settle_heap()

        def stop_streams() -> None:  # on SIGTERM/SIGINT, before the server waits for them
            app.state.stopping = True
            watch = getattr(app.state, "head_watch", None)
            if watch is not None:
                watch.stop()

        app.state.stopping = False
        undo_signals = on_stop_signals(stop_streams)
        log.info("api_started", keys=len(app.state.api_keys), pid=os.getpid())
        try:
            yield
        finally:
            undo_signals()
            keeper.stop()
            aclose = getattr(app.state.read_models, "aclose", None)
            if callable(aclose):
                await aclose()  # what the read models opened on this loop
            closer = getattr(app.state.read_models, "close", None)
            if callable(closer):
                closer()
            ledger.close()
            log.info("api_stopped")

    # Swagger UI and ReDoc from assets shipped in fastapi-offline, never from a CDN: the
    # docs work in a network without internet access.
    app = FastAPIOffline(
        title="Program Ledger",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_unknown_query)],
        swagger_ui_parameters={"validatorUrl": None},  # else it calls an online validator
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_api_route("/", _to_docs, include_in_schema=False)
    # The last added runs first: request context, then authentication, then the rate
    # limit of expensive requests (it counts per key), then the body limit, so an
    # anonymous caller is refused before its body is read; last, a request asked
    # again is answered from a kept answer before routing (api/shortcut.py); HEAD is
    # routed as GET (the log and the metrics keep HEAD).
    app.add_middleware(HeadMiddleware)
    app.add_middleware(KeptAnswerMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(AuthenticationMiddleware)
    app.add_middleware(RequestContextMiddleware)
    install_metrics(app)  # GET /metrics, and the middleware that counts every answer
    # Probes first: routes are matched in order, and /health is what load balancers poll.
    for router in (health.router, whoami.router, programmes.router, phases.router,
                   recipients.router, applications.router, grants.router, audit.router,
                   stream.router):
        app.include_router(router)
    install_ui(app)  # the read-only dashboard at /ui (api/ui/)
    return app


def _prepare_routes(app: FastAPI) -> None:
    """What the first requests would otherwise build on the event loop, every other request
    of the worker waiting meanwhile: the facts of every route (the query check, ~0.1 s)
    and the OpenAPI document (the shortcut's templates read it, ~0.4 s; api/shortcut.py).
    A served app builds them before it accepts a connection; should the document fail,
    the first request that needs it says so, as before."""
    route_facts(app)
    try:
        app.openapi()
    except Exception:  # (logged; api/shortcut.py then answers through the routes)
        log.exception("openapi_document_failed")


def create_served_app() -> FastAPI:
    """The app of a `ledger serve` worker (`--workers N`: uvicorn's factory)."""
    return create_app(settle=True)

