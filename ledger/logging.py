"""structlog, configured once: console on a terminal, JSON lines otherwise (SPEC §8)."""

from __future__ import annotations

import logging
import sys
from typing import Literal

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
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if chosen == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line (PrintLogger writes the newline apart): with several
        # `ledger serve --workers` on one stderr, lines never run into each other.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True
