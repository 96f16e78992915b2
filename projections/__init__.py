"""The read side: projections of the log into tables, kept current by a runner.

Public surface: `build_read_models(settings, ledger)` returns a `ReadModelsImpl`
(the `projections.interface.ReadModels` contract) with `start()`/`stop()` for
the runner thread and `catch_up()` for synchronous use; `replay_all` rebuilds
everything (scripts/bench.py).
"""

from projections.read_models import ReadModelsImpl, build_read_models, replay_all
from projections.rebuild import VerifyReport, rebuild, verify
from projections.runner import Runner

__all__ = [
    "ReadModelsImpl",
    "Runner",
    "VerifyReport",
    "build_read_models",
    "rebuild",
    "replay_all",
    "verify",
]
