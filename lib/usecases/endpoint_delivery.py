"""Delivering completion events to the owners' subscribed endpoints, each endpoint on its own.

Two steps (docs/webhooks.md):
1. Fan-out. One completion event becomes one queued message per matching endpoint: of the
   event's owner, subscribed to its type. A disabled endpoint's message is queued too, and skipped
   at delivery, so what it missed while off is known. Each (event, endpoint) is claimed in the
   table and marked sent once queued, so a later copy of the event queues nothing twice.
2. Delivery. One message, one endpoint: its current URL and secrets are read when it is sent;
   the URL is checked again; every attempt is signed then, with a fresh timestamp and every secret
   still signing (two during a rotation overlap); the `webhook-id` is the event's, on every try.
   2xx records the (event, endpoint) delivered; 410 disables the endpoint, with the reason; 429,
   503 and the rest follow the retry policy of lib/usecases/delivery.py, and an endpoint failing
   for the stage's span with no success is disabled (lib/usecases/endpoint_health.py). A lease in
   the table lets only one attempt per (event, endpoint) send at a time, so a message the queue
   hands out twice at once is not POSTed twice. A replay (lib/usecases/replay.py) is sent once per
   generation, even after a delivery.

Both steps write the endpoint's delivery log (lib/usecases/delivery_log.py): the message when it is
queued, each attempt with the state it leaves, each skip with its reason.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from lib.domain import endpoint_health, webhooks
from lib.domain.endpoints import Endpoint, EndpointMessage, matching
from lib.domain.errors import EndpointUrlRefused, TransientError
from lib.domain.events import TEST, CompletionEvent
from lib.domain.model import utc_now
from lib.ports import (
    DeliveryLog,
    DeliveryStates,
    EndpointQueue,
    EndpointRecords,
    EndpointUrlCheck,
    SecretBox,
    WebhookSender,
)
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, USER_AGENT, Decision, DeliveryPolicy
from lib.usecases.delivery_log import DeliveryRecorder
from lib.usecases.endpoint_health import EndpointHealth

logger = Logger(child=True)

GONE = 410
# A send lease outlives the POST's own time limit by this much; a try that finds it held waits as long.
LEASE_MARGIN_SECONDS = 5


class FanOut:
    def __init__(
        self, records: EndpointRecords, states: DeliveryStates, queue: EndpointQueue, log: DeliveryLog | None = None
    ):
        self.records = records
        self.states = states
        self.queue = queue
        self.recorder = DeliveryRecorder(log)

    def fan_out(self, event: CompletionEvent, claimer: str) -> list[str]:
        """Queues the event for each of its owner's matching endpoints; returns their ids.

        `claimer` names the queue message being processed: processing it again queues again only
        what it claimed but never recorded as sent, so a crash between claim and send loses nothing.
        """
        if not event.owner:
            return []  # an event from before owners existed belongs to no subscriber
        queued = []
        for endpoint in matching(self.records.list_for_owner(event.owner), event):
            # The claim opens the message's log entry before it is queued, so that its first attempt
            # finds it: one write for both.
            entry = self.recorder.queued_entry(event)
            if self.states.claim(event.owner, endpoint.endpoint_id, event.id, claimer, entry):
                message = EndpointMessage(event, event.owner, endpoint.endpoint_id)
                self.queue.send(message)
                self.states.mark_sent(event.owner, endpoint.endpoint_id, event.id)
                queued.append(endpoint.endpoint_id)
        return queued


class EndpointDelivery:
    def __init__(
        self,
        policy: DeliveryPolicy,
        records: EndpointRecords,
        states: DeliveryStates,
        secrets: SecretBox,
        urls: EndpointUrlCheck,
        sender: WebhookSender,
        clock: Callable[[], float] = time.time,
        log: DeliveryLog | None = None,
        max_attempts: int = 8,
        disable_after_seconds: int = endpoint_health.DEFAULT_DISABLE_AFTER_SECONDS,
    ):
        self.policy = policy
        self.records = records
        self.states = states
        self.secrets = secrets
        self.urls = urls
        self.sender = sender
        self.clock = clock
        self.recorder = DeliveryRecorder(log, clock)
        # The endpoint queue's maxReceiveCount: no retry is scheduled after this try.
        self.max_attempts = max_attempts
        self.health = EndpointHealth(records, disable_after_seconds, clock)

    def deliver(self, message: EndpointMessage, attempt: int) -> Decision:
        event, owner, endpoint_id, replay = message.event, message.owner, message.endpoint_id, message.replay
        endpoint = self.records.get(owner, endpoint_id)
        if endpoint is None:
            return self._skip(message, "the endpoint was deleted")
        if not endpoint.enabled:
            return self._skip(message, "the endpoint is disabled")
        if event.type != TEST and not endpoint.subscribes_to(event.type):
            return self._skip(message, "the endpoint no longer subscribes to this event type")
        # One attempt at a time per (event, endpoint), even when the queue hands a message out twice
        # at once: the second waits for the first's outcome instead of POSTing alongside it.
        lease = self.policy.timeout_seconds + LEASE_MARGIN_SECONDS
        if not self.states.begin_send(owner, endpoint_id, event.id, lease, replay):
            # A copy of a message: the log keeps the entry of the one that was sent.
            if self.states.is_delivered(owner, endpoint_id, event.id, replay):
                return Decision(SKIPPED, "already delivered to this endpoint, or superseded by a replay")
            return Decision(RETRY, "another attempt is sending this event to this endpoint", LEASE_MARGIN_SECONDS)
        decision = self._send(message, endpoint, attempt)
        if decision.action == DELIVERED:
            self._record_delivery(owner, endpoint_id, event.id, replay)
            self.health.succeeded(endpoint)
        else:
            self.states.end_send(owner, endpoint_id, event.id)
            if not decision.endpoint_disabled:  # a failure: the one that disables it makes it final
                decision = self.health.failed(endpoint, decision)
        self.recorder.attempted(message, decision, attempt, self.max_attempts)
        return decision

    def _skip(self, message: EndpointMessage, reason: str) -> Decision:
        self.recorder.skipped(message, reason)
        return Decision(SKIPPED, reason)

    def _send(self, message: EndpointMessage, endpoint: Endpoint, attempt: int) -> Decision:
        event, owner, endpoint_id = message.event, message.owner, message.endpoint_id
        try:
            self.urls.check(endpoint.url)
        except EndpointUrlRefused as refused:
            return Decision(PERMANENT, f"{refused.code}: {refused.message}")

        body, now = event.webhook_body(), self.clock()
        keys = [self.secrets.decrypt(c, owner, endpoint_id) for c in endpoint.signing_ciphertexts(now)]
        headers = webhooks.signed_headers(keys, event.id, body, now=int(now))
        headers["user-agent"] = USER_AGENT
        started, started_epoch = time.perf_counter(), time.time()
        reply = self.sender.post(endpoint.url, body, headers, self.policy.timeout_seconds)
        timing = {
            "post_ms": round((time.perf_counter() - started) * 1000, 1),
            "post_started_ms": round(started_epoch * 1000),
            "status_code": reply.status,
        }
        if reply.refused:
            return Decision(PERMANENT, reply.error or "the endpoint's address is refused", **timing)
        if reply.status == GONE:
            reason = f"the endpoint answered HTTP 410 Gone at {utc_now()}; PATCH enabled: true turns it back on"
            self.records.disable(owner, endpoint_id, reason, utc_now())
            return Decision(PERMANENT, reason, endpoint_disabled=endpoint_health.GONE, **timing)
        return dataclasses.replace(self.policy.decide(reply, attempt), **timing)

    def _record_delivery(self, owner: str, endpoint_id: str, webhook_id: str, replay: str) -> None:
        try:
            self.states.mark_delivered(owner, endpoint_id, webhook_id, replay)
        except TransientError as e:
            # The receiver has the event; failing now would only send it again.
            logger.warning("delivered, but could not record the delivery", extra={"reason": str(e)})
