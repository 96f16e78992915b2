"""Processes that start at the same moment on one PostgreSQL database — `ledger serve
--workers N`, a CLI import beside a server — all come up: the schema's DDL is serialised
(CI once saw "tuple concurrently updated" from two writers' `CREATE ... IF NOT EXISTS`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from ledger import Settings, build_ledger
from projections.read_models import build_read_models
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
settings = Settings(database_url=sys.argv[1])
ledger = build_ledger(settings)
read = build_read_models(settings, ledger)
read.close()
ledger.close()
print("up")
"""


@pytest.mark.parametrize("rounds", [3])
def test_processes_starting_together_all_create_the_schema(postgres_url: str,
                                                           rounds: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(rounds):  # the first round meets an empty database, the rest a full one
        start = time.time() + 2.0
        children = [subprocess.Popen([sys.executable, "-c", CHILD, postgres_url, str(start)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env) for _ in range(5)]
        outputs = [child.communicate(timeout=120) for child in children]
        failed = [err for child, (_, err) in zip(children, outputs, strict=True)
                  if child.returncode != 0]
        assert not failed, failed[0]
        assert all(out.strip() == "up" for out, _ in outputs)
