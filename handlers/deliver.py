"""deliver: SQS batches of completion events -> signed webhook POSTs.

Retryable failures set the message's next visibility (backoff, honoring Retry-After) and are
reported as batch item failures; the queue's redrive policy dead-letters them after the last try.
Permanent failures are sent to the dead-letter queue at once, with the reason, and acknowledged.
A DynamoDB throttle that outlasts the in-invocation backoff re-sends the event with a delay instead
(lib/adapters/delivery_queue.py), so throttling never spends the receiver's tries or dead-letters an event.

Subscriptions (docs/webhooks.md): before the stage's own webhook is sent, each event is fanned out
to its owner's matching endpoints, one message each on the endpoint queue, which this function
also consumes (handlers/endpoint_deliveries.py).
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

from handlers.delivery_decisions import carry_out
from handlers.endpoint_deliveries import (
    EndpointDeliverer,
    build_endpoint_deliverer,
    build_fan_out,
    is_endpoint_record,
)
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
from lib.usecases.delivery import DELIVERED, PERMANENT, SKIPPED, Decision, DeliveryPolicy, WebhookDelivery
from lib.usecases.endpoint_delivery import FanOut

logger = Logger()
# Report every failed record, even when all of them failed, rather than raising for the whole batch.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class Deliverer:
    delivery: WebhookDelivery
    queue: DeliveryQueue
    # The integration queue's maxReceiveCount: a retry after this try is dead-lettered by the queue.
    max_attempts: int = 8
    # The owner's subscribed endpoints; None when the stage has no subscriptions table.
    fan_out: FanOut | None = None

    def process(self, record: SQSRecord) -> None:
        event = CompletionEvent.from_message(record.body)
        logger.append_keys(image_id=event.image_id, webhook_id=event.id, **queue_times(record))
        attempt = int(record.attributes.approximate_receive_count or 1)
        try:
            with image_subsegment(event.image_id):
                if self.fan_out is not None:
                    queued = self.fan_out.fan_out(event, record.message_id)
                    if queued:
                        logger.info("queued for the owner's endpoints", extra={"endpoint_ids": queued})
                decision = self.delivery.deliver(event, attempt)
        except Throttled as error:
            count_if_throttled(error)
            requeue_throttled(record, error, self.queue.requeue_throttled)
            return
        self._observe(event, decision, attempt)
        carry_out(decision, record, self.queue, attempt, event.type, "webhook")

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
    config = deliver_config()
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
    return Deliverer(delivery, queue, config.max_attempts, build_fan_out(config))


@functools.cache
def deliver_config() -> DeliverConfig:
    return DeliverConfig.from_env()


@functools.cache
def endpoint_deliverer() -> EndpointDeliverer:
    return build_endpoint_deliverer(deliver_config())


@functools.cache
def ssm_parameters() -> parameters.SSMProvider:
    return parameters.SSMProvider()


def webhook_secret(parameter_name: str) -> str:
    # Cached for five minutes, so a rotated secret is picked up without a redeploy.
    return ssm_parameters().get(parameter_name, decrypt=True, max_age=300)


def record_handler(record: SQSRecord) -> None:
    try:
        if is_endpoint_record(record, deliver_config()):
            endpoint_deliverer().process(record)
        else:
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
    if deliver_config().webhooks_table:
        endpoint_deliverer()
        prepare("kms")
    ssm_parameters()  # the secret itself is read on first use: it may be stored after this starts
