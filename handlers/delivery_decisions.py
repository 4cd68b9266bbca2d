"""Carrying out a delivery decision on the SQS message it was made for: both of deliver's queues.

A retry pushes the message's visibility out and fails the record (the queue's redrive policy
dead-letters it after the last try); a permanent refusal goes to the dead-letter queue at once,
with its reason, and the record is acknowledged; anything else is logged and acknowledged.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handlers.sqs_records import RetryLater
from lib.adapters.delivery_queue import DeliveryQueue
from lib.usecases.delivery import PERMANENT, RETRY, Decision

logger = Logger(child=True)


def carry_out(
    decision: Decision, record: SQSRecord, queue: DeliveryQueue, attempt: int, event_type: str, subject: str
) -> None:
    """`subject` names what was delivered to in the log lines: "webhook" (the stage's) or "endpoint"."""
    log = {
        "action": decision.action,
        "reason": decision.reason,
        "attempt": attempt,
        "event_type": event_type,
        "post_ms": decision.post_ms,
        "post_started_ms": decision.post_started_ms,
        "status_code": decision.status_code,  # the receiver's answer; None (left out) when there was none
    }
    if decision.action == RETRY:
        queue.retry_later(record.receipt_handle, decision.delay_seconds)
        logger.warning(
            f"{subject} delivery failed; will retry", extra={**log, "retry_in_seconds": decision.delay_seconds}
        )
        raise RetryLater(decision.reason)
    if decision.action == PERMANENT:
        queue.dead_letter(record.body, decision.reason)
        logger.error(f"{subject} refused permanently; sent to the dead-letter queue", extra=log)
        return
    logger.info(f"{subject} {decision.action}", extra=log)
