"""Delivers one completion event to the webhook URL, once in effect, and says what to do next."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from aws_lambda_powertools import Logger

from lib import webhooks
from lib.errors import AlreadyExists, TransientError
from lib.events import CompletionEvent
from lib.repository import ImageRepository

logger = Logger(child=True)

SKIPPED = "skipped"


@dataclass(frozen=True)
class DeliveryPolicy:
    url: str
    timeout_seconds: int
    retry_base_seconds: int
    retry_max_seconds: int


class WebhookDelivery:
    def __init__(
        self,
        policy: DeliveryPolicy,
        secret: Callable[[], str],
        repository: ImageRepository,
        session: requests.Session | None = None,
    ):
        self.policy = policy
        self._secret = secret
        self.repository = repository
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            # The webhook URL is configuration; proxies and .netrc from the environment are not.
            self._session.trust_env = False
        return self._session

    def deliver(self, event: CompletionEvent, attempt: int) -> webhooks.Decision:
        if not self.policy.url:
            return webhooks.Decision(SKIPPED, "no webhook URL is configured")
        if event.image_id and self.repository.is_delivered(event.image_id):
            return webhooks.Decision(SKIPPED, "already delivered")

        body = event.webhook_body()
        headers = webhooks.signed_headers(self._secret(), event.id, body)
        headers["user-agent"] = "image-recognition-webhooks/1"
        status, retry_after, error = None, None, None
        started, started_epoch = time.perf_counter(), time.time()
        try:
            response = self.session.post(
                self.policy.url,
                data=body,
                headers=headers,
                timeout=(3, self.policy.timeout_seconds),
                allow_redirects=False,
            )
            status, retry_after = response.status_code, response.headers.get("Retry-After")
            response.close()
        except requests.Timeout:
            error = "the receiver timed out"
        except requests.RequestException as e:
            error = f"could not reach the receiver: {type(e).__name__}"

        decision = webhooks.decide(
            status, retry_after, attempt, self.policy.retry_base_seconds, self.policy.retry_max_seconds, error
        )
        decision = dataclasses.replace(
            decision,
            post_ms=round((time.perf_counter() - started) * 1000, 1),
            post_started_ms=round(started_epoch * 1000),
        )
        if decision.action == webhooks.DELIVERED and event.image_id:
            self._record_delivery(event.image_id)
        return decision

    def _record_delivery(self, image_id: str) -> None:
        try:
            self.repository.mark_delivered(image_id)
        except (AlreadyExists, TransientError) as e:
            # The receiver has the event; failing now would only send it again.
            logger.warning("delivered, but could not record the delivery", extra={"reason": str(e)})
