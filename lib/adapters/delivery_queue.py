"""SQS adapter for the integration queue: what the deliver function does to a message besides acknowledging it.

A retry waits by pushing the message's visibility out (the queue then redelivers it, and its
redrive policy dead-letters it after the last try); a permanent refusal is sent to the dead-letter
queue at once with its reason; a throttle re-sends the message with a delay (lib/adapters/requeue.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.adapters.requeue import Requeuer

MAX_VISIBILITY_SECONDS = 43200  # SQS's ceiling: 12 hours
# SQS allows 256 KB of attributes, but a reason is read by people: a short one is enough.
MAX_REASON_CHARACTERS = 1000


class DeliveryQueue:
    def __init__(self, queue_url: str, dead_letter_queue_url: str, sqs: Callable[[], Any] = lambda: client("sqs")):
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self._sqs = sqs
        self._requeuer = Requeuer(queue_url, sqs=sqs)

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """The message comes back after `delay_seconds` (at most SQS's 12 hours)."""
        call_aws(
            lambda: self._sqs().change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=min(delay_seconds, MAX_VISIBILITY_SECONDS),
            ),
            Translation(lambda code, e: f"could not delay the retry of a delivery: {e}"),
        )

    def dead_letter(self, body: str, reason: str) -> None:
        call_aws(
            lambda: self._sqs().send_message(
                QueueUrl=self.dead_letter_queue_url,
                MessageBody=body,
                MessageAttributes={
                    "failure_reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARACTERS]}
                },
            ),
            Translation(lambda code, e: f"could not dead-letter a refused delivery: {e}"),
        )

    def requeue_throttled(self, body: str, throttle_count: int) -> int:
        """Sends `body` again, with a delay, as throttled `throttle_count` times; returns the delay."""
        return self._requeuer.requeue(body, throttle_count)
