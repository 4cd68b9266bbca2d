"""Rekognition's TPS quota, per operation, and the figures `make burst` reads back.

AWS sets a transactions-per-second quota on each operation (DetectLabels: 50 in us-east-1, quota
code L-E29B542B). Over it, the call is refused with ProvisionedThroughputExceededException, HTTP
400, in the usual error shape. Here a token bucket per operation does the same; its burst is one
second's worth of calls. The ledger also counts what was answered, so that a run can measure the
rate it actually got: successful calls between the first and the last.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from local.rate_limits import TokenBucket

from .errors import RekognitionError

QUOTA_PATH = "/_local/quota"


def quota_exceeded() -> RekognitionError:
    return RekognitionError("ProvisionedThroughputExceededException", "Provisioned rate exceeded.")


class QuotaLedger:
    """Admits calls within `tps` per operation (no limit when tps is 0) and counts the outcomes."""

    def __init__(self, tps: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.tps = tps
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._figures: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def admit(self, operation: str) -> None:
        """Raises ProvisionedThroughputExceededException when `operation` is over its quota."""
        if self.tps <= 0:
            return
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = TokenBucket(self.tps, self.tps, self._clock)
        if not bucket.take():
            self._count(operation, "throttled")
            raise quota_exceeded()

    def succeeded(self, operation: str, seconds: float = 0.0) -> None:
        """Counts an answered call; `seconds` is how long answering it took."""
        self._count(operation, "succeeded", seconds)

    def _count(self, operation: str, outcome: str, seconds: float = 0.0) -> None:
        now = self._clock()
        with self._lock:
            figures = self._figures.setdefault(
                operation,
                {"succeeded": 0, "throttled": 0, "first_success": None, "last_success": None, "busy": 0.0},
            )
            figures[outcome] += 1
            figures["busy"] += seconds
            if outcome == "succeeded":
                if figures["first_success"] is None:
                    figures["first_success"] = now
                figures["last_success"] = now

    def snapshot(self) -> dict[str, Any]:
        """{"tps": q, "operations": {name: {succeeded, throttled, rate}}}, rate over first..last success."""
        with self._lock:
            operations = {}
            for name, figures in self._figures.items():
                span = (figures["last_success"] or 0) - (figures["first_success"] or 0)
                rate = (figures["succeeded"] - 1) / span if span > 0 and figures["succeeded"] > 1 else 0.0
                operations[name] = {
                    "succeeded": figures["succeeded"],
                    "throttled": figures["throttled"],
                    "seconds": round(span, 3),
                    "rate": round(rate, 3),
                    "mean_call_seconds": round(figures["busy"] / figures["succeeded"], 4)
                    if figures["succeeded"]
                    else 0.0,
                }
        return {"tps": self.tps, "operations": operations}
