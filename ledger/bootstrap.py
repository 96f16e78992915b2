"""The composition root: the only place that turns settings into a running Ledger."""

from __future__ import annotations

from ledger.app import Ledger
from ledger.logging import configure_logging
from ledger.settings import Settings


def build_ledger(settings: Settings | None = None) -> Ledger:
    settings = settings or Settings()
    configure_logging(settings.log_format)
    return Ledger(env=settings.eventsourcing_env())
