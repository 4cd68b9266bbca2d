"""deliver: SQS batches of completion events -> signed webhook POSTs.

Retryable failures set the message's next visibility (backoff, honouring Retry-After) and are
reported as batch item failures; the queue's redrive policy dead-letters them after the last try.
Permanent failures are sent to the dead-letter queue at once, with the reason, and acknowledged.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lib import webhooks
from lib.clients import client
from lib.config import DeliverConfig
from lib.delivery import DeliveryPolicy, WebhookDelivery
from lib.events import CompletionEvent
from lib.repository import ImageRepository

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


class RetryLater(Exception):
    """Marks a record failed after its next visibility has been set."""


@functools.cache
def config() -> DeliverConfig:
    return DeliverConfig.from_env()


@functools.cache
def build_delivery() -> WebhookDelivery:
    settings = config()
    return WebhookDelivery(
        policy=DeliveryPolicy(
            url=settings.webhook_url,
            timeout_seconds=settings.request_timeout_seconds,
            retry_base_seconds=settings.retry_base_seconds,
            retry_max_seconds=settings.retry_max_seconds,
        ),
        # Cached for five minutes, so a rotated secret is picked up without a redeploy.
        secret=lambda: parameters.get_parameter(settings.webhook_secret_parameter, decrypt=True, max_age=300),
        repository=ImageRepository(settings.images_table),
    )


def record_handler(record: SQSRecord, delivery: WebhookDelivery | None = None) -> None:
    delivery = delivery or build_delivery()
    event = CompletionEvent.from_message(record.body)
    logger.append_keys(image_id=event.image_id, webhook_id=event.id)
    attempt = int(record.attributes.approximate_receive_count or 1)
    decision = delivery.deliver(event, attempt)
    log = {"action": decision.action, "reason": decision.reason, "attempt": attempt, "event_type": event.type}

    if decision.action == webhooks.RETRY:
        _delay(record, decision.delay_seconds)
        logger.warning("webhook delivery failed; will retry", extra={**log, "retry_in_seconds": decision.delay_seconds})
        raise RetryLater(decision.reason)
    if decision.action == webhooks.PERMANENT:
        _dead_letter(record, decision.reason)
        logger.error("webhook refused permanently; sent to the dead-letter queue", extra=log)
        return
    logger.info("webhook " + decision.action, extra=log)


def _delay(record: SQSRecord, seconds: int) -> None:
    # SQS caps a message's visibility at 12 hours.
    client("sqs").change_message_visibility(
        QueueUrl=config().integration_queue_url,
        ReceiptHandle=record.receipt_handle,
        VisibilityTimeout=min(seconds, 43200),
    )


def _dead_letter(record: SQSRecord, reason: str) -> None:
    client("sqs").send_message(
        QueueUrl=config().integration_dlq_url,
        MessageBody=record.body,
        MessageAttributes={"failure_reason": {"DataType": "String", "StringValue": reason[:1000]}},
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
