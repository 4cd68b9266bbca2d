"""Kills a function's worker in the middle of a batch, a given number of times, as a crash would."""

from __future__ import annotations

import logging
import threading

from local.functions.runtime import LambdaRuntime

logger = logging.getLogger("local.chaos")

POLL_SECONDS = 0.005


class WorkerKiller:
    """Each kill waits for an invocation to be running, kills it, and counts only if that invocation failed.

    Between kills, `batches_between` invocations must succeed, so the run keeps making progress and
    the kills spread over it.
    """

    def __init__(self, runtime: LambdaRuntime, function: str, times: int, batches_between: int = 1):
        self.runtime = runtime
        self.function = function
        self.times = times
        self.batches_between = batches_between
        self.kills = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kill-{function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    @property
    def finished(self) -> bool:
        return self.kills >= self.times

    def _successes(self) -> int:
        stats = self.runtime.stats(self.function)
        return stats["invocations"] - stats["errors"]

    def _run(self) -> None:
        while not self.finished and not self._stopping.is_set():
            progress_from = self._successes()
            while self._successes() - progress_from < self.batches_between:
                if self._stopping.wait(POLL_SECONDS):
                    return
            if self._kill_mid_batch():
                self.kills += 1
                logger.info("chaos: killed the %s worker mid-batch (%d of %d)", self.function, self.kills, self.times)

    def _kill_mid_batch(self) -> bool:
        while not self.runtime.is_busy(self.function):
            if self._stopping.wait(POLL_SECONDS):
                return False
        errors = self.runtime.stats(self.function)["errors"]
        self.runtime.kill_worker(self.function)
        # The batch may have finished between the check and the kill; then the kill hit an idle worker.
        for _ in range(int(2 / POLL_SECONDS)):
            if self.runtime.stats(self.function)["errors"] > errors:
                return True
            if not self.runtime.is_busy(self.function) or self._stopping.wait(POLL_SECONDS):
                return self.runtime.stats(self.function)["errors"] > errors
        return False
