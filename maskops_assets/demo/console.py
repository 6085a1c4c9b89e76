"""The demo's console: one plain line per stage (no colours, no progress bars), with a time stamp."""

from __future__ import annotations

import sys
import time


class Console:
    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(
            f"[demo {time.strftime('%H:%M:%S')} +{elapsed / 60:4.1f} min] {message}",
            file=self.stream,
            flush=True,
        )

    def stage(
        self, number: int, total: int, message: str, *, run_id: str | None = None, url: str = ""
    ) -> None:
        where = f"  run {run_id[:8]} {url}" if run_id else (f"  {url}" if url else "")
        self.say(f"stage {number}/{total}: {message}{where}")

    def block(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
