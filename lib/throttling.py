"""Throttles: telling them apart from failures, backing off inside an invocation, and re-queueing.

A throttle says nothing about the image: the same call succeeds once the caller slows down. So it
must never count towards the queue's maxReceiveCount, or a busy hour would dead-letter good images.
Two layers handle it (docs/scaling.md):

1. `Backoff.run` retries a throttled call with full jitter, inside the invocation, within a budget.
2. A record still throttled when the budget runs out is re-sent to its queue with a throttle
   counter and a growing delay (`requeue_delay`), and the original is acknowledged. The new message
   starts at receive count 0, so no number of throttles can dead-letter it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lib.domain.errors import TransientError

T = TypeVar("T")

# Error codes AWS services answer when the caller is over a rate or throughput limit.
THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",  # Rekognition, DynamoDB
        "ThrottlingException",  # Rekognition, DynamoDB (control plane and on-demand limits)
        "Throttling",  # SNS (Query protocol)
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",  # S3
    }
)

# The message attribute that carries how many times a record has been re-queued for throttling.
THROTTLE_COUNT_ATTRIBUTE = "throttle-count"
SQS_MAX_DELAY_SECONDS = 900


class Throttled(TransientError):
    """A dependency refused the call for rate, not for the request: retry later, never dead-letter.
    `dependency` names it (Rekognition, DynamoDB, SNS) for the throttle metric."""

    code = "throttled"

    def __init__(self, dependency: str, message: str):
        super().__init__(message)
        self.dependency = dependency


def is_throttle(error_code: str) -> bool:
    return error_code in THROTTLE_CODES


@dataclass
class Backoff:
    """Retries a call that raises Throttled, with full jitter, until a time budget is spent.

    Full jitter (a uniform wait between 0 and the capped exponential step) spreads the callers of
    a saturated quota over time instead of letting them retry in lockstep. `stop_by` sets a
    deadline for the whole invocation (its remaining time less a margin), so that backing off can
    never make the function time out: a timed-out batch would count a receive for every record.
    """

    budget_seconds: float = 8.0
    base_seconds: float = 0.1
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    invocation_deadline: float | None = None

    def stop_by(self, deadline: float | None) -> None:
        """No wait may end after `deadline` (a `clock()` value); None lifts the limit."""
        self.invocation_deadline = deadline

    def run(self, call: Callable[[], T]) -> T:
        deadline = self.clock() + self.budget_seconds
        if self.invocation_deadline is not None:
            deadline = min(deadline, self.invocation_deadline)
        attempt = 0
        while True:
            try:
                return call()
            except Throttled:
                wait = self.rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))
                if self.clock() + wait >= deadline:
                    raise
                attempt += 1
                self.sleep(wait)


def requeue_delay(throttle_count: int, base_seconds: int = 2, rng: random.Random | None = None) -> int:
    """Seconds a re-queued record waits: doubling per throttle, with jitter, within SQS's 900 s cap."""
    step = min(SQS_MAX_DELAY_SECONDS, base_seconds * 2 ** min(throttle_count, 10))
    return int((rng or random).uniform(step / 2, step))
