"""Keeps the verified integrity checkpoint near the head while a server runs.

`GET /integrity` answers from the checkpoint and extends it by a bounded number of
links per call; without this thread a server started on a large log would answer
"verified up to n" far behind the head until enough auditors had asked. The thread
extends it in the same bounded steps (under the same lock, so several workers or
servers never race), back to back while it is behind, then once per `interval`.
"""

from __future__ import annotations

import threading

import structlog

from ledger.app import Ledger

log = structlog.get_logger("ledger")


class IntegrityKeeper:
    def __init__(self, ledger: Ledger, *, interval: float = 1.0) -> None:
        self.ledger = ledger
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="integrity", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def step(self) -> bool:
        """One bounded extension; True while the checkpoint is still behind the head."""
        answer = self.ledger.integrity()
        return answer.checkpoint.verified and answer.checkpoint.position < answer.head_position

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                behind = self.step()
                if self._failing:
                    log.info("integrity_keeper_recovered")
                self._failing = False
            except Exception as exc:  # the store is away: log once, try again later
                if not self._failing:
                    log.error("integrity_keeper_failed", error=f"{type(exc).__name__}: {exc}")
                self._failing, behind = True, False
            if not behind:
                self._stop.wait(self.interval)
