"""Run by test_crash.py in a separate process: project in small batches, then hang mid-batch.

argv: database URL, marker file, batch number to hang in (rows written, not committed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ledger import Settings, build_ledger
from projections import build_read_models


def main() -> None:
    url, marker, hang_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    settings = Settings(database_url=url, log_format="json")
    read_models = build_read_models(settings, build_ledger(settings), batch_size=25)
    batches = 0

    def before_commit(position: int) -> None:
        nonlocal batches
        batches += 1
        if batches == hang_at:
            marker.write_text(str(position))
            time.sleep(120)  # killed here, with the batch's rows written but not committed

    read_models.runner.before_commit = before_commit
    read_models.catch_up()


if __name__ == "__main__":
    main()
