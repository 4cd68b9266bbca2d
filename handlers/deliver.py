"""deliver: SQS batches of completion events -> signed webhook POSTs.

Retryable failures set the message's next visibility (backoff, honoring Retry-After) and are
reported as batch item failures; the queue's redrive policy dead-letters them after the last try.
Permanent failures are sent to the dead-letter queue at once, with the reason, and acknowledged.
A DynamoDB throttle that outlasts the in-invocation backoff re-sends the event with a delay instead
(lib/adapters/delivery_queue.py), so throttling never spends the receiver's tries or dead-letters an event.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handlers.sqs_records import queue_times, requeue_throttled
from lib.adapters.clients import in_lambda_init, prepare
from lib.adapters.delivery_queue import DeliveryQueue
from lib.adapters.repository import ImageRepository
from lib.adapters.webhook_sender import HttpWebhookSender
from lib.config import DeliverConfig
from lib.domain.events import CompletionEvent
from lib.domain.model import parse_utc
from lib.observability import (
    END_TO_END_LATENCY,
    WEBHOOK_ATTEMPTS,
    WEBHOOKS_DEAD_LETTERED,
    WEBHOOKS_DELIVERED,
    count,
    count_if_throttled,
    image_subsegment,
    metrics,
    milliseconds,
    tracer,
)
from lib.throttling import Backoff, Throttled
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, Decision, DeliveryPolicy, WebhookDelivery

logger = Logger()
# Report every failed record, even when all of them failed, rather than raising for the whole batch.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLater(Exception):
    """Marks a record failed after its next visibility has been set."""


@dataclass(frozen=True)
class Deliverer:
    delivery: WebhookDelivery
    queue: DeliveryQueue
    # The integration queue's maxReceiveCount: a retry after this try is dead-lettered by the queue.
    max_attempts: int = 8

    def process(self, record: SQSRecord) -> None:
        event = CompletionEvent.from_message(record.body)
        logger.append_keys(image_id=event.image_id, webhook_id=event.id, **queue_times(record))
        attempt = int(record.attributes.approximate_receive_count or 1)
        try:
            with image_subsegment(event.image_id):
                decision = self.delivery.deliver(event, attempt)
        except Throttled as error:
            count_if_throttled(error)
            requeue_throttled(record, error, self.queue.requeue_throttled)
            return
        self._observe(event, decision, attempt)
        log = {
            "action": decision.action,
            "reason": decision.reason,
            "attempt": attempt,
            "event_type": event.type,
            "post_ms": decision.post_ms,
            "post_started_ms": decision.post_started_ms,
        }

        if decision.action == RETRY:
            self.queue.retry_later(record.receipt_handle, decision.delay_seconds)
            logger.warning(
                "webhook delivery failed; will retry", extra={**log, "retry_in_seconds": decision.delay_seconds}
            )
            raise RetryLater(decision.reason)
        if decision.action == PERMANENT:
            self.queue.dead_letter(record.body, decision.reason)
            logger.error("webhook refused permanently; sent to the dead-letter queue", extra=log)
            return
        logger.info("webhook " + decision.action, extra=log)

    def _observe(self, event: CompletionEvent, decision: Decision, attempt: int) -> None:
        if decision.action == SKIPPED:
            return
        count(WEBHOOK_ATTEMPTS)
        if decision.action == DELIVERED:
            count(WEBHOOKS_DELIVERED)
            created = parse_utc(str(event.data.get("created_at", "")))
            if created is not None:
                milliseconds(END_TO_END_LATENCY, (time.time() - created) * 1000)
        elif decision.action == PERMANENT or attempt >= self.max_attempts:
            count(WEBHOOKS_DEAD_LETTERED)


@functools.cache
def build_deliverer() -> Deliverer:
    config = DeliverConfig.from_env()
    delivery = WebhookDelivery(
        policy=DeliveryPolicy(
            url=config.webhook_url,
            timeout_seconds=config.request_timeout_seconds,
            retry_base_seconds=config.retry_base_seconds,
            retry_max_seconds=config.retry_max_seconds,
        ),
        secret=lambda: webhook_secret(config.webhook_secret_parameter),
        # Records are delivered one after another: a short backoff each, so ten fit in the timeout.
        repository=ImageRepository(config.images_table, backoff=Backoff(budget_seconds=1)),
        sender=HttpWebhookSender(),
    )
    queue = DeliveryQueue(config.integration_queue_url, config.integration_dlq_url)
    return Deliverer(delivery, queue, config.max_attempts)


@functools.cache
def ssm_parameters() -> parameters.SSMProvider:
    return parameters.SSMProvider()


def webhook_secret(parameter_name: str) -> str:
    # Cached for five minutes, so a rotated secret is picked up without a redeploy.
    return ssm_parameters().get(parameter_name, decrypt=True, max_age=300)


def record_handler(record: SQSRecord) -> None:
    try:
        build_deliverer().process(record)
    except Exception as error:  # reported by the batch processor; counted here if it was throttling
        count_if_throttled(error)
        raise


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_deliverer()
    prepare("sqs", "dynamodb")
    ssm_parameters()  # the secret itself is read on first use: it may be stored after this starts
