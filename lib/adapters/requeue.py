"""SQS adapter that puts a throttled (or waiting) record back on its queue as a new message, with a delay.

Why a new message rather than a failed record: a failed record's receive count grows with every
try and the redrive policy dead-letters it at maxReceiveCount, throttled or not. A new message
starts at zero, so throttles, however many, never move an image to the dead-letter queue. The
original is acknowledged only after the copy is safely sent; if the copy is sent and the original
comes back anyway, the consumer's idempotency absorbs the duplicate.

An image waiting for the first image of the same bytes to be recognized (lib/usecases/reuse.py) is
re-queued the same way, with a short delay and the time its wait began, which bounds the wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.throttling import THROTTLE_COUNT_ATTRIBUTE, requeue_delay

# When a waiting record began to wait (epoch seconds), carried from one re-queue to the next.
WAITING_SINCE_ATTRIBUTE = "waiting-since"
# Seconds a waiting record is delayed, drawn anew each time: about one recognition, jittered so the
# copies of one image do not all come back at once.
WAIT_DELAY_SECONDS = (2, 5)


class Requeuer:
    def __init__(
        self,
        queue_url: str,
        sqs: Callable[[], Any] = lambda: client("sqs"),
        rng: random.Random | None = None,
        delay_base_seconds: int = 2,
    ):
        self.queue_url = queue_url
        self._sqs = sqs
        self._rng = rng or random.Random()
        self.delay_base_seconds = delay_base_seconds

    def requeue(self, body: str, throttle_count: int) -> int:
        """Send `body` again as throttled `throttle_count` times; returns the delay it waits."""
        delay = requeue_delay(throttle_count, self.delay_base_seconds, self._rng)
        self._send(body, delay, THROTTLE_COUNT_ATTRIBUTE, str(throttle_count), "a throttled")
        return delay

    def requeue_waiting(self, body: str, waiting_since: float) -> int:
        """Send `body` again to wait for an identical image's result; returns the delay it waits."""
        delay = self._rng.randint(*WAIT_DELAY_SECONDS)
        self._send(body, delay, WAITING_SINCE_ATTRIBUTE, f"{waiting_since:.3f}", "a waiting")
        return delay

    def _send(self, body: str, delay: int, attribute: str, value: str, kind: str) -> None:
        call_aws(
            lambda: self._sqs().send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                DelaySeconds=delay,
                MessageAttributes={attribute: {"DataType": "Number", "StringValue": value}},
            ),
            # The record then fails the ordinary way and the queue redelivers it.
            Translation(lambda code, e: f"could not re-queue {kind} record: {e}"),
        )


def throttle_count(message_attributes: dict[str, Any]) -> int:
    """The counter a previous re-queue set, from a Lambda SQS record's messageAttributes."""
    attribute = message_attributes.get(THROTTLE_COUNT_ATTRIBUTE) or {}
    try:
        return max(0, int(attribute.get("stringValue") or 0))
    except (TypeError, ValueError):
        return 0


def waiting_since(message_attributes: dict[str, Any]) -> float | None:
    """When a re-queued waiting record began to wait, from a Lambda SQS record's messageAttributes."""
    attribute = message_attributes.get(WAITING_SINCE_ATTRIBUTE) or {}
    try:
        return float(attribute["stringValue"])
    except (KeyError, TypeError, ValueError):
        return None
