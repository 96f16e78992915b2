"""structlog, configured once: console on a terminal, JSON lines otherwise (SPEC §8)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Literal

import orjson
import structlog

_configured = False


def configure_logging(
    log_format: Literal["console", "json"] | None = None, *, level: int = logging.INFO
) -> None:
    """Idempotent; the first call wins unless `force` semantics are needed in tests."""
    global _configured  # noqa: PLW0603  # configuration is process-wide by nature
    if _configured:
        return
    chosen = log_format or ("console" if sys.stderr.isatty() else "json")
    # One write per line (PrintLogger writes the newline apart): with several
    # `ledger serve --workers` on one stderr, lines never run into each other.
    renderer: structlog.typing.Processor = structlog.dev.ConsoleRenderer()
    factory: Callable[..., Any] = structlog.WriteLoggerFactory(file=sys.stderr)
    if chosen == "json":
        # JSON lines as bytes from orjson, as structlog's performance notes recommend: a
        # server logs a line per request on its event loop. Values orjson does not know
        # (Decimal, ...) fall back to structlog's repr handler, as with the stdlib.
        binary = getattr(sys.stderr, "buffer", None)  # a replaced stderr may have none
        renderer = structlog.processors.JSONRenderer(
            serializer=orjson.dumps if binary is not None else _orjson_text)
        if binary is not None:
            factory = structlog.BytesLoggerFactory(file=binary)
    stamp: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *stamp,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    _route_stdlib(stamp, chosen, level)
    _configured = True


def _route_stdlib(stamp: list[structlog.typing.Processor], chosen: str, level: int) -> None:
    """uvicorn's lines (its supervisor's "Child process [pid] died", a worker's start and
    failure) rendered as ours, one write per line (structlog's `ProcessorFormatter`, as
    its docs recommend for the standard library). Only uvicorn's loggers: the root
    logger stays the host program's (the ledger is a library too)."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_text) if chosen == "json"
        else structlog.dev.ConsoleRenderer())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *stamp],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(handler)
    uvicorn.setLevel(level)
    uvicorn.propagate = False  # not twice where the host logs the root too
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # ours: api.access


def _orjson_text(value: Any, **options: Any) -> str:
    return orjson.dumps(value, **options).decode()
