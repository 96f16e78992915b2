"""A real `ledger serve` subprocess for end-to-end tests: started on a free port,
killed (SIGKILL, the whole session) or stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.support.faults import eventually

LEDGER = str(Path(sys.executable).parent / "ledger")  # the installed console script


class Server:
    """One `ledger serve` process (a session of its own, so its workers go with it)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        command = [LEDGER, "serve", "--port", str(self.port), *args]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        # The server logs a line per request: read them as they come, or a burst fills
        # the pipe and the server blocks on its next log line (a hung server, not a bug).
        self._log: list[str] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        eventually(self.health)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._log.append(line)

    def health(self) -> dict[str, Any] | None:
        """/health on a fresh connection (so `--workers` spreads them), None while down."""
        try:
            response = httpx.get(f"{self.base}/health", timeout=5,
                                 headers={"Connection": "close"})
        except httpx.TransportError:
            return None
        return dict(response.json()) if response.status_code in (200, 503) else None

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> str:
        """Stops the server (gracefully, else by force) and answers what it logged."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=10)  # the pipe closes with the process group
        return "".join(self._log)
