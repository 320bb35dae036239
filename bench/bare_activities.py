"""The floor's only activity: append `{"id", "at"}` to a file, `at` being `time.time()` at the
moment of writing. No rendering, no provider, no lock: what is left is Temporal itself."""

from __future__ import annotations

import json
import time
from pathlib import Path

from temporalio import activity


class BareActivities:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @activity.defn(name="bench_append")
    async def append(self, bench_id: str) -> None:
        line = json.dumps({"id": bench_id, "at": time.time()}) + "\n"
        # One small O_APPEND write on the event loop: microseconds, never worth a thread.
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line)
