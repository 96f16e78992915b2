"""The projections in a process of their own beside `ledger serve` (`--projector`).

A server runs the projection runner as a thread by default, so projecting the commands it
takes shares one interpreter with answering them. With `--projector` it first starts this
module as a child process, which builds the read side and runs the runner; the child wins
the projections' leadership (projections/leader.py) before the server's own runner asks,
so the server follows: it answers every query and waits for the child's progress, as a
second worker does. Nothing else changes: positions, failures (`proj_status`) and the lock
live in the database.

If the child dies, its lock goes with it and the server's runner takes over within about a
second (the follower's poll); the server logs `projector_exited` once. The child ends when
the server closes its stdin (a stop) or dies (the pipe's other end goes away).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import IO

import structlog

log = structlog.get_logger("projections")

READY_SECONDS = 120.0  # creating or upgrading a store's tables can take a while


class Projector:
    """The child process, seen from the server."""

    def __init__(self, environment: dict[str, str]) -> None:
        self._environment = environment
        self._process: subprocess.Popen[str] | None = None
        self._stopping = False

    def start(self, *, timeout: float = READY_SECONDS) -> str:
        """Starts the child and waits until it leads or follows; raises RuntimeError if
        it ends or says nothing within `timeout` seconds."""
        process = subprocess.Popen(  # this interpreter, this module
            [sys.executable, "-m", "projections.projector"],
            env={**os.environ, **self._environment},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._process = process
        assert process.stdout is not None
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(_line(process.stdout)),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        role = answer[0] if answer else ""
        if role not in ("leading", "following"):
            self.stop()
            raise RuntimeError("the projector process did not start (see its log above)")
        threading.Thread(target=self._watch, name="projector-watch", daemon=True).start()
        log.info("projector_started", pid=process.pid, role=role)
        return role

    def _watch(self) -> None:
        process = self._process
        if process is None:
            return
        code = process.wait()
        if not self._stopping:
            log.error("projector_exited", pid=process.pid, returncode=code,
                      fix="this server's own runner takes the projections over")

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._stopping = True
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to finish its batch and end
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _line(stream: IO[str] | None) -> str:
    return stream.readline().strip() if stream is not None else ""


def main() -> None:
    """The child: lead (or follow) the projections until stdin closes."""
    from ledger import Settings, build_ledger
    from ledger.heap import settle_heap
    from ledger.logging import configure_logging
    from projections.read_models import build_read_models

    settings = Settings()
    configure_logging(settings.log_format)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, rebuild_far_behind=True)
    settle_heap()
    try:
        read_models.runner.start()  # decides leading or following before it returns
        print("leading" if read_models.runner.leading else "following", flush=True)
        sys.stdin.read()  # until the server closes it, or dies
    finally:
        read_models.close()
        ledger.close()


if __name__ == "__main__":
    main()
