"""SQS adapter that puts a throttled record back on its queue as a new message, with a delay.

Why a new message rather than a failed record: a failed record's receive count grows with every
try and the redrive policy dead-letters it at maxReceiveCount, throttled or not. A new message
starts at zero, so throttles, however many, never move an image to the dead-letter queue. The
original is acknowledged only after the copy is safely sent; if the copy is sent and the original
comes back anyway, the consumer's idempotency absorbs the duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.throttling import THROTTLE_COUNT_ATTRIBUTE, requeue_delay


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
        call_aws(
            lambda: self._sqs().send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                DelaySeconds=delay,
                MessageAttributes={
                    THROTTLE_COUNT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(throttle_count)}
                },
            ),
            # The record then fails the ordinary way and the queue redelivers it.
            Translation(lambda code, e: f"could not re-queue a throttled record: {e}"),
        )
        return delay


def throttle_count(message_attributes: dict[str, Any]) -> int:
    """The counter a previous re-queue set, from a Lambda SQS record's messageAttributes."""
    attribute = message_attributes.get(THROTTLE_COUNT_ATTRIBUTE) or {}
    try:
        return max(0, int(attribute.get("stringValue") or 0))
    except (TypeError, ValueError):
        return 0
