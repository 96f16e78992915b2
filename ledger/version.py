"""The installed distribution's version (pyproject.toml is the one place it is written)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("program-ledger")
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "0+unknown"
