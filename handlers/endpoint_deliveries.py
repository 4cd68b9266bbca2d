"""The deliver function's second queue: one message per (event, endpoint), one per invocation.

The fan-out (handlers/deliver.py) queues them; here each is sent, signed at send time, and its
answer carried out on its own message: a retry waits by the message's visibility (Retry-After
honored), a refusal goes to the endpoint dead-letter queue with its reason. An endpoint that is
slow or failing holds up nothing but its own message.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handlers.delivery_decisions import carry_out
from handlers.sqs_records import queue_times, requeue_throttled
from lib.adapters.delivery_log_table import DeliveryLogTable
from lib.adapters.delivery_queue import DeliveryQueue
from lib.adapters.endpoint_queue import SqsEndpointQueue
from lib.adapters.endpoint_records import EndpointTable
from lib.adapters.secret_box import KmsSecretBox
from lib.config import DeliverConfig
from lib.domain.endpoints import EndpointMessage
from lib.fetching.endpoint_urls import EndpointUrlPolicy, GuardedWebhookSender
from lib.observability import (
    ENDPOINT_DELIVERIES,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_ENDPOINTS_DISABLED,
    WEBHOOKS_DEAD_LETTERED,
    WEBHOOKS_DELIVERED,
    count,
    count_by,
    count_if_throttled,
)
from lib.throttling import Backoff, Throttled
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, Decision, DeliveryPolicy
from lib.usecases.endpoint_delivery import EndpointDelivery, FanOut

logger = Logger(child=True)


@dataclass(frozen=True)
class EndpointDeliverer:
    delivery: EndpointDelivery
    queue: DeliveryQueue
    max_attempts: int = 8

    def process(self, record: SQSRecord) -> None:
        message = EndpointMessage.from_message(record.body)
        event = message.event
        logger.append_keys(
            image_id=event.image_id or None,
            webhook_id=event.id,
            endpoint_id=message.endpoint_id,
            replay=message.replay or None,  # a replay's generation; None (left out) for the first sending
            **queue_times(record),
        )
        attempt = int(record.attributes.approximate_receive_count or 1)
        try:
            decision = self.delivery.deliver(message, attempt)
        except Throttled as error:
            count_if_throttled(error)
            requeue_throttled(record, error, self.queue.requeue_throttled)
            return
        self._observe(message, decision, attempt)
        carry_out(decision, record, self.queue, attempt, event.type, "endpoint")

    def _observe(self, message: EndpointMessage, decision: Decision, attempt: int) -> None:
        final = decision.action == PERMANENT or (decision.action == RETRY and attempt >= self.max_attempts)
        if decision.action != SKIPPED:
            count(WEBHOOK_ATTEMPTS)
        if decision.action == DELIVERED:
            count(WEBHOOKS_DELIVERED)
        elif final:
            count(WEBHOOKS_DEAD_LETTERED)
        count_by(ENDPOINT_DELIVERIES, "Outcome", outcome(decision, final), properties={"owner": message.owner})
        if decision.endpoint_disabled:
            count_by(WEBHOOK_ENDPOINTS_DISABLED, "Cause", decision.endpoint_disabled)


def outcome(decision: Decision, final: bool) -> str:
    """The Outcome dimension of EndpointDeliveries: one of lib/observability.py's DELIVERY_OUTCOMES."""
    if decision.action in (DELIVERED, SKIPPED):
        return decision.action
    if decision.endpoint_disabled:
        return "disabled"
    return "failed" if final else "retry"


def build_fan_out(config: DeliverConfig) -> FanOut | None:
    if not config.webhooks_table:
        return None
    table = EndpointTable(config.webhooks_table, backoff=Backoff(budget_seconds=1))
    log = DeliveryLogTable(config.webhooks_table, backoff=Backoff(budget_seconds=1))
    return FanOut(table, table, SqsEndpointQueue(config.endpoint_queue_url), log)


def build_endpoint_deliverer(config: DeliverConfig) -> EndpointDeliverer:
    table = EndpointTable(config.webhooks_table, backoff=Backoff(budget_seconds=1))
    urls = EndpointUrlPolicy(config.webhook_allowlist)
    delivery = EndpointDelivery(
        policy=DeliveryPolicy(
            url="",
            timeout_seconds=config.request_timeout_seconds,
            retry_base_seconds=config.retry_base_seconds,
            retry_max_seconds=config.retry_max_seconds,
        ),
        records=table,
        states=table,
        secrets=KmsSecretBox(config.webhook_key_id),
        urls=urls,
        sender=GuardedWebhookSender(urls),
        disable_after_seconds=config.disable_after_seconds,
        log=DeliveryLogTable(config.webhooks_table, backoff=Backoff(budget_seconds=1)),
        max_attempts=config.max_attempts,
    )
    return EndpointDeliverer(
        delivery, DeliveryQueue(config.endpoint_queue_url, config.endpoint_dlq_url), config.max_attempts
    )


def is_endpoint_record(record: SQSRecord, config: DeliverConfig) -> bool:
    """Whether the record came from the endpoint queue (its ARN ends in the queue URL's name)."""
    name = config.endpoint_queue_url.rstrip("/").rsplit("/", 1)[-1]
    return bool(name) and (record.event_source_arn or "").endswith(":" + name)
