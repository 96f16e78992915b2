"""The release as a public body installs it: a wheel built from the source, installed
with its dependencies into a fresh virtual environment (no system site-packages, no
source tree on the path), and every command run from an empty directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What a clean checkout would not hold: build them from the sources only.
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                      "__pycache__", "*.db*", ".*_cache", ".hypothesis")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` of a fresh venv holding the wheel and what it depends on."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", source,
         cwd=work)
    (wheel,) = (work / "dist").glob("program_ledger-*.whl")
    _run(sys.executable, "-m", "venv", work / "venv", cwd=work)
    _run(work / "venv/bin/python", "-m", "pip", "install", "-q", wheel, cwd=work)
    return work / "venv/bin"


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _clean_env() -> dict[str, str]:
    """No LEDGER_* settings and no path into the source tree: the defaults of a new user."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("LEDGER_", "PYTHON", "VIRTUAL_ENV"))}


def test_installed_wheel_runs_demo_report_and_export_from_an_empty_directory(
    installed: Path, empty_dir: Path
) -> None:
    ledger, env = installed / "ledger", _clean_env()

    version = _run(ledger, "--version", cwd=empty_dir, env=env)
    loaded = _run(ledger, "demo", "--no-serve", cwd=empty_dir, env=env)
    totals = json.loads(_run(ledger, "report", "phase-totals", "2020-1", "--format", "json",
                             cwd=empty_dir, env=env))
    table = _run(ledger, "report", "phase-totals", "2020-1", cwd=empty_dir, env=env)
    package = json.loads(_run(ledger, "export", "--format", "360giving", cwd=empty_dir,
                              env=env))
    _run(ledger, "report", "reconciliation", "shh-digital", "2020", "--format", "pdf",
         "--output", "r.pdf", cwd=empty_dir, env=env)  # its font comes from the wheel

    assert "0.1.0" in version
    assert "loaded 443 applications" in loaded
    assert {p.name for p in empty_dir.iterdir()} >= {"ledger.db", "ledger-demo-keys.json"}
    assert totals["awarded"] == "16000000.00"
    assert "16.000.000,00\u00a0€" in table and "Log-Position" in table
    assert len(package["grants"]) == 443
    assert package["grants"][0]["currency"] == "EUR"
    assert b"/FontFile2" in (empty_dir / "r.pdf").read_bytes()  # DejaVu Sans embedded


def test_installed_wheel_serves_its_docs_without_the_internet(
    installed: Path, empty_dir: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**_clean_env(), "LEDGER_DATABASE_URL": "memory://"}
    server = subprocess.Popen([str(installed / "ledger"), "serve", "--port", str(port)],
                              cwd=empty_dir, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        page = _fetch_when_up(f"{base}/")  # redirected to /docs
        script = re.search(r'<script src="([^"]+)"', page)
        assert script is not None
        bundle = _fetch_when_up(base + script.group(1))
        sign_in = _fetch_when_up(f"{base}/ui/login")  # the dashboard's assets: package data
        assets = {name: _fetch_when_up(f"{base}/ui/static/{name}")
                  for name in ("htmx.min.js", "chart.umd.min.js", "ui.css", "ui.js")}
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert "swagger-ui" in page
    assert not re.search(r"https?://", page)
    assert "SwaggerUIBundle" in bundle
    assert "API-Schlüssel" in sign_in and not re.search(r"https?://", sign_in)
    assert "htmx" in assets["htmx.min.js"] and "Chart.js" in assets["chart.umd.min.js"]


def _fetch_when_up(url: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # a local URL we built
                return str(answer.read().decode("utf-8"))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_installed_wheel_leaves_no_database_behind_when_a_command_fails(
    installed: Path, empty_dir: Path
) -> None:
    env = _clean_env()

    failed = subprocess.run([str(installed / "ledger"), "report", "phase-totals", "2020-1"],
                            cwd=empty_dir, env=env, capture_output=True, text=True,
                            check=False)

    # A command that only reads refuses a store without a ledger (scripts/store.py), and
    # exits 66, not verify's verdict 1; it creates nothing.
    assert failed.returncode == 66, failed.stderr
    assert "no ledger at" in failed.stderr and "ledger demo" in failed.stderr
    assert list(empty_dir.iterdir()) == []
