"""`POST /webhooks/{id}/replay`: send one logged message again, or every failed one since a time.

A replay queues the logged event again on the endpoint queue, with its original webhook-id, under
a new replay generation (docs/webhooks.md). The deliver function signs it at send time, as any
message, and sends it even if the message was delivered before: a receiver that already has it
dedupes it by its webhook-id (Standard Webhooks). A copy of the replay message is still sent once
only (one generation, one delivery), and the replay supersedes the message's earlier sendings, so
a retry of those still in the queue sends nothing beside it.

The entry is marked pending before the message is queued, so the deliver side finds its
generation; if queuing then fails, the request fails and the entry stays pending until replayed again.
"""

from __future__ import annotations

import uuid

from lib.deadline import Deadline
from lib.domain.delivery_log import MAX_REPLAY, LoggedDelivery, ReplayRequest
from lib.domain.endpoints import EndpointMessage
from lib.domain.errors import EndpointDisabled, NotFound
from lib.domain.model import utc_now
from lib.ports import DeliveryHistory, EndpointQueue, EndpointRecords
from lib.usecases.delivery_log import require_endpoint

# How long one request queues replays: well inside the function's 10 s and the HTTP API's 30 s.
REPLAY_BUDGET_SECONDS = 6.0


class Replays:
    def __init__(
        self,
        records: EndpointRecords,
        history: DeliveryHistory,
        queue: EndpointQueue,
        budget_seconds: float = REPLAY_BUDGET_SECONDS,
    ):
        self.records = records
        self.history = history
        self.queue = queue
        self.budget_seconds = budget_seconds

    def replay(self, owner: str, endpoint_id: str, request: ReplayRequest) -> list[str]:
        """The webhook-ids queued again, oldest first.

        A `since` that finds more than the time budget lets queue stops there: the rest stay failed
        or skipped, and the same request again picks them up (those replayed are pending now)."""
        endpoint = require_endpoint(self.records, owner, endpoint_id)
        if not endpoint.enabled:
            raise EndpointDisabled("the endpoint is disabled; PATCH enabled: true, then replay")
        if request.webhook_id is not None:
            entry = self.history.get(owner, endpoint_id, request.webhook_id)
            if entry is None:
                raise NotFound(f"no message {request.webhook_id[:64]!r} in this endpoint's delivery log")
            entries = [entry]
        else:
            entries = self.history.replayable_since(owner, endpoint_id, str(request.since), MAX_REPLAY)
        deadline, replayed = Deadline(self.budget_seconds), []
        for entry in entries:
            if deadline.expired:
                break
            if self._queue_again(owner, endpoint_id, entry):
                replayed.append(entry.webhook_id)
        return replayed

    def _queue_again(self, owner: str, endpoint_id: str, entry: LoggedDelivery) -> bool:
        if entry.event is None:  # a payload the log can no longer read: nothing to send
            return False
        generation = f"rp_{uuid.uuid4().hex}"
        if not self.history.begin_replay(owner, endpoint_id, entry.webhook_id, generation, utc_now()):
            return False  # expired from the log meanwhile
        self.queue.send(EndpointMessage(entry.event, owner, endpoint_id, replay=generation))
        return True
