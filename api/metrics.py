"""`GET /metrics` in Prometheus text format (prometheus-client).

- `ledger_http_requests_total{method, route, status}` and
  `ledger_http_request_duration_seconds{method, route}`: by route *template*
  (`/applications/{application_id}`), so ids never become labels; a path no route
  matches counts as `route="unmatched"`;
- `ledger_commands_total{command, outcome}` and `ledger_command_duration_seconds{command}`:
  every POST by its operation (`approve_application`), the outcome `ok` or the problem
  `code` it answered (`budget_exceeded`, `four_eyes`, …);
- `ledger_head_position`, `ledger_projection_position{projection}`,
  `ledger_projection_lag_events{projection}`: read from the database at each scrape, so
  any worker answers the same.

With `ledger serve --workers N`, `PROMETHEUS_MULTIPROC_DIR` is set (scripts/serve_commands.py)
and every worker writes its counts there; a scrape of any worker sums them all.

`/metrics` needs no key (SPEC §6): Prometheus scrapes it from the private network. It holds
counts, durations and positions, no amounts, ids or names; keep it off the public interface
(a reverse proxy that serves only the API paths).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import Unanswered

log = structlog.get_logger("api.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests answer in milliseconds; a slow figure or a bulk command in seconds.
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The request and command metrics of one app (its own registry in one process, the
    shared directory with several workers)."""

    def __init__(self) -> None:
        shared = multiprocess_dir() is not None
        # In multiprocess mode values live in the directory; a registry would only hold
        # this process's share, so the metrics register nowhere and a scrape reads files.
        self.registry = None if shared else CollectorRegistry()
        self.requests = Counter("ledger_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("ledger_http_request_duration_seconds",
                                 "Time to answer an HTTP request", ("method", "route"),
                                 buckets=BUCKETS, registry=self.registry)
        self.commands = Counter("ledger_commands", "Commands (POST) by outcome: ok or the "
                                "problem code", ("command", "outcome"), registry=self.registry)
        self.command_latency = Histogram("ledger_command_duration_seconds",
                                         "Time to decide and save a command", ("command",),
                                         buckets=BUCKETS, registry=self.registry)

    def observe(self, *, method: str, route: Any, status: int, code: str | None,
                seconds: float) -> None:
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        label = template if isinstance(template, str) else "unmatched"
        self.requests.labels(method, label, str(status)).inc()
        self.latency.labels(method, label).observe(seconds)
        name = getattr(route, "name", None)
        if method == "POST" and isinstance(name, str) and template is not None:
            self.commands.labels(name, "ok" if status < 400 else code or str(status)).inc()
            self.command_latency.labels(name).observe(seconds)

    def exposition(self, app: FastAPI) -> bytes:
        registry = CollectorRegistry()
        if self.registry is None:
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        else:
            registry = self.registry
        positions = PositionsCollector(app)
        registry.register(positions)
        try:
            return generate_latest(registry)
        finally:
            registry.unregister(positions)


class PositionsCollector(Collector):
    """The log's head and each projection's position and lag, read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.app.state
        try:
            head = int(state.ledger.head()[0])
            positions = dict(state.read_models.positions()) if state.read_models else {}
        except Exception as exc:  # a scrape never fails on a down store
            log.warning("metrics_positions_unavailable", error=type(exc).__name__)
            return
        yield GaugeMetricFamily("ledger_head_position", "Position of the last event in the log",
                                value=head)
        position = GaugeMetricFamily("ledger_projection_position",
                                     "Last position a projection has applied",
                                     labels=["projection"])
        lag = GaugeMetricFamily("ledger_projection_lag_events",
                                "Events in the log a projection has not applied yet",
                                labels=["projection"])
        for name, at in sorted(positions.items()):
            position.add_metric([name], int(at))
            lag.add_metric([name], max(head - int(at), 0))
        yield position
        yield lag


class MetricsMiddleware:
    """Counts every HTTP answer by route template and status, and times it; for a
    problem+json answer, reads its `code` (the body is small and sent whole)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None  # until a response starts
        problem, code = False, None
        channel = Unanswered(receive)

        async def watching(message: Message) -> None:
            nonlocal status, problem, code
            if message["type"] == "http.response.start":
                status = message["status"]
                problem = any(name == b"content-type" and b"problem+json" in value
                              for name, value in message.get("headers", []))
            elif message["type"] == "http.response.body" and problem and code is None:
                code = _code_of(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, channel.receive, watching)
        finally:
            self.metrics.observe(method=scope["method"], route=scope.get("route"),
                                 status=status if status is not None else channel.status(),
                                 code=code,
                                 seconds=time.perf_counter() - started)


def _code_of(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and len(code) <= 40 else None


def install_metrics(app: FastAPI) -> None:
    """Adds the middleware (outermost: it times authentication refusals too) and
    `GET /metrics`."""
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    def get_metrics(request: Request) -> Response:  # sync: the positions read the database
        """Request counts and latencies by route and status, commands by outcome code,
        the log's head and each projection's position and lag, in Prometheus text format.
        For Prometheus on the private network: keep it off the public interface."""
        return Response(metrics.exposition(request.app), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", get_metrics, methods=["GET"], tags=["health"],
                      summary="Prometheus metrics", response_class=Response,
                      responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                                       "description": "Prometheus text format"}})


def shared_directory() -> tuple[str, bool]:
    """The directory where several workers' metrics meet, made ready before they start:
    `PROMETHEUS_MULTIPROC_DIR` if set (its old files removed: counts start with the
    server), else a new temporary one. Answers (path, whether the caller made it)."""
    chosen = multiprocess_dir()
    if chosen is None:
        path = tempfile.mkdtemp(prefix="ledger-metrics-")
        os.environ[MULTIPROC_ENV] = path
        return path, True
    os.makedirs(chosen, exist_ok=True)
    for name in os.listdir(chosen):
        if name.endswith(".db"):
            os.remove(os.path.join(chosen, name))
    return chosen, False
