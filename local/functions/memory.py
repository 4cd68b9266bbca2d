"""A function's memory size, enforced as Lambda enforces it: a worker whose resident memory passes
it is killed mid-invocation, and the invocation fails with Lambda's out-of-memory error.

The worker process's resident set (VmRSS) is sampled while it runs an event; processes the
handler spawns are not counted (Lambda counts them: a documented gap). Linux only, like `/proc`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

logger = logging.getLogger("local.functions.memory")

SAMPLE_SECONDS = 0.02


def resident_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class MemoryWatch:
    """Watches one worker during one invocation; `exceeded_mb` is set if it was killed for memory."""

    def __init__(self, pid: int, limit_mb: int, function_name: str):
        self.pid = pid
        self.limit_mb = limit_mb
        self.function_name = function_name
        self.exceeded_mb: float | None = None
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"memory-{function_name}", daemon=True)

    def __enter__(self) -> MemoryWatch:
        if Path("/proc").is_dir():
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            used = resident_mb(self.pid)
            if used is None:
                return
            self.peak_mb = max(self.peak_mb, used)
            if used > self.limit_mb:
                self.exceeded_mb = used
                logger.warning(
                    "function %s used %.0f MB of its %d MB: worker killed, as Lambda does",
                    self.function_name, used, self.limit_mb,
                )  # fmt: skip
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return
