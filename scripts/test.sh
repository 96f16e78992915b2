#!/usr/bin/env bash
# Installs the project with its test tools into .venv and runs every test
# (the default quick run, then the slow scale tests), plus ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test]"
.venv/bin/ruff check ledger projections api scripts tests
.venv/bin/mypy
# Everything, the slow scale tests included (a plain `pytest` skips those).
.venv/bin/pytest -n 2 -p no:cacheprovider -m "slow or not slow" "$@"
