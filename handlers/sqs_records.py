"""What both SQS-triggered functions read off a record besides its body, and how they re-queue a throttle
or a wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lib.adapters.requeue import throttle_count, waiting_since
from lib.throttling import Throttled
from lib.usecases.reuse import OriginalPending

logger = Logger(child=True)


class RetryLater(Exception):
    """Marks a record failed after its next visibility has been set."""


def queue_times(record: SQSRecord) -> dict[str, Any]:
    """Epoch milliseconds at which SQS accepted the message and first handed it out: the wait
    before this function ran, measured by AWS's own clocks."""
    attributes = record.attributes
    return {
        "queue_sent_ms": int(attributes.sent_timestamp or 0) or None,
        "queue_first_receive_ms": int(attributes.approximate_first_receive_timestamp or 0) or None,
    }


def requeue_throttled(record: SQSRecord, error: Throttled, requeue: Callable[[str, int], int]) -> None:
    """Sends the record again with a delay and counts the throttle, so that throttling never spends
    the record's tries (lib/adapters/requeue.py); the record is then acknowledged."""
    throttles = throttle_count(record.raw_event.get("messageAttributes") or {}) + 1
    delay = requeue(record.body, throttles)
    logger.warning(
        "throttled after backing off; re-queued",
        extra={"reason": str(error), "throttle_count": throttles, "delay_seconds": delay},
    )


def waited_since(record: SQSRecord) -> float | None:
    """When this record began to wait for an identical image's result, if it was re-queued to wait."""
    return waiting_since(record.raw_event.get("messageAttributes") or {})


def requeue_waiting(record: SQSRecord, pending: OriginalPending, requeue: Callable[[str, float], int]) -> None:
    """Sends the record again with a short delay, carrying when its wait began; it is then acknowledged."""
    delay = requeue(record.body, pending.waiting_since)
    logger.info(
        "waiting for the first image of the same bytes; re-queued",
        extra={"original": pending.original_id, "delay_seconds": delay},
    )
