"""Delivering one completion event to the webhook URL, once in effect, and the retry policy for the answer.

2xx is delivered; 408, 429, 5xx and transport errors are retried after an exponential backoff
with equal jitter, or the receiver's Retry-After when that is longer; any other status is a
permanent refusal. The queue carries out the decision (handlers/deliver.py).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from aws_lambda_powertools import Logger

from lib.domain import webhooks
from lib.domain.errors import AlreadyExists, TransientError
from lib.domain.events import DELETED, CompletionEvent
from lib.ports import DeliveryRecords, Reply, WebhookSender

logger = Logger(child=True)

DELIVERED = "delivered"
RETRY = "retry"
PERMANENT = "permanent"
SKIPPED = "skipped"
USER_AGENT = "image-recognition-webhooks/1"


@dataclass(frozen=True)
class Decision:
    action: str  # DELIVERED, RETRY, PERMANENT or SKIPPED
    reason: str
    delay_seconds: int = 0
    post_ms: float = 0.0  # how long the POST took, for the logs
    post_started_ms: int | None = None  # when it began, epoch milliseconds: places the try on a timeline
    status_code: int | None = None  # the receiver's HTTP status, for the delivery log; None without an answer
    # Why this attempt disabled its endpoint, if it did: lib/domain/endpoint_health.py's GONE or FAILING.
    endpoint_disabled: str = ""


@dataclass(frozen=True)
class DeliveryPolicy:
    url: str
    timeout_seconds: int
    retry_base_seconds: int
    retry_max_seconds: int

    def decide(self, reply: Reply, attempt: int) -> Decision:
        """What this policy makes of a receiver's reply (or of no reply) to try number `attempt`."""
        return decide(
            reply.status, reply.retry_after, attempt, self.retry_base_seconds, self.retry_max_seconds, reply.error
        )


class WebhookDelivery:
    def __init__(
        self,
        policy: DeliveryPolicy,
        secret: Callable[[], str],
        repository: DeliveryRecords,
        sender: WebhookSender,
    ):
        self.policy = policy
        self._secret = secret
        self.repository = repository
        self.sender = sender

    def deliver(self, event: CompletionEvent, attempt: int) -> Decision:
        if not self.policy.url:
            return Decision(SKIPPED, "no webhook URL is configured")
        # Work in flight when its image was deleted (lib/usecases/deletion.py) is never announced:
        # only the deletion itself is.
        if event.type != DELETED and event.image_id and self.repository.is_deleted(event.image_id):
            return Decision(SKIPPED, "the image was deleted")
        if event.image_id and self.repository.is_delivered(event.image_id):
            return Decision(SKIPPED, "already delivered")

        body = event.webhook_body()
        headers = webhooks.signed_headers(self._secret(), event.id, body)
        headers["user-agent"] = USER_AGENT
        started, started_epoch = time.perf_counter(), time.time()
        reply = self.sender.post(self.policy.url, body, headers, self.policy.timeout_seconds)
        decision = dataclasses.replace(
            self.policy.decide(reply, attempt),
            post_ms=round((time.perf_counter() - started) * 1000, 1),
            post_started_ms=round(started_epoch * 1000),
            status_code=reply.status,
        )
        if decision.action == DELIVERED and event.image_id:
            self._record_delivery(event.image_id)
        return decision

    def _record_delivery(self, image_id: str) -> None:
        try:
            self.repository.mark_delivered(image_id)
        except (AlreadyExists, TransientError) as e:
            # The receiver has the event; failing now would only send it again.
            logger.warning("delivered, but could not record the delivery", extra={"reason": str(e)})


# --- the retry policy ------------------------------------------------------------------------------
def backoff_seconds(attempt: int, base: int, maximum: int, rand: random.Random | None = None) -> int:
    """Exponential backoff with equal jitter: a uniform wait between half the step and the step,
    where the step is `base` for attempt 1 and doubles with each attempt, capped at `maximum`.

    Half the step is kept, so a retry is never immediate; the other half is random, so the
    retries of many deliveries that failed together spread out.
    """
    ceiling = min(maximum, base * 2 ** max(0, attempt - 1))
    return int((rand or random).uniform(ceiling / 2, ceiling)) if ceiling else 0


def parse_retry_after(value: str | None, now: float | None = None) -> int | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0, int(when - (time.time() if now is None else now)))


def decide(
    status: int | None,
    retry_after: str | None,
    attempt: int,
    base: int,
    maximum: int,
    error: str | None = None,
) -> Decision:
    """2xx delivered; 408, 429, 5xx and transport errors retried; any other status is permanent."""
    if status is not None and 200 <= status < 300:
        return Decision(DELIVERED, f"HTTP {status}")
    if status is None or status in (408, 429) or status >= 500:
        reason = error or f"HTTP {status}"
        delay = backoff_seconds(attempt, base, maximum)
        honored = parse_retry_after(retry_after)
        if honored is not None:
            delay = min(maximum, max(delay, honored))
        return Decision(RETRY, reason, delay)
    return Decision(PERMANENT, f"HTTP {status}: the receiver refused the event; it will not be retried")
