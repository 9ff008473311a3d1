"""The victim of the crash-safety test: appends audit events until it is killed.

Run in a child process, either ``python audit_writer.py STORE_PATH`` (repository root on
PYTHONPATH; prints "ready") or as a multiprocessing target with an Event to set when ready.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from core.workspace.audit import AuditLog
from core.workspace.store import Store


def main(store_path: str, ready: Any = None) -> None:
    store = Store(Path(store_path))
    log = AuditLog(store, "crash-writer")
    if ready is None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    else:
        ready.set()
    rng = random.Random()
    index = 0
    while True:
        index += 1
        # varying sizes so a kill can land in the middle of writing a page
        log.append("test.crash", f"event-{index}", {"index": index, "pad": "x" * rng.randrange(0, 3000)})


if __name__ == "__main__":
    main(sys.argv[1])
