"""Each endpoint's delivery log: recording what is queued and tried, and reading it page by page.

Recording is best effort by design: the log describes deliveries, it is not one of them. A write
that fails is logged and the delivery goes on, so the log can never lose or repeat a send. The one
exception costs nothing: the entry the fan-out opens is written by its claim of the message, in
the same write, and a claim that fails is tried again whole. The adapter makes each write an
idempotent upsert (docs/webhooks.md), so a message processed twice is one entry, and an attempt
written twice is one attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from lib.domain import delivery_log
from lib.domain.delivery_log import Attempt, LoggedDelivery, LogQuery, QueuedEntry, RecordedAttempt
from lib.domain.endpoints import Endpoint, EndpointMessage, is_endpoint_id
from lib.domain.errors import DomainError, NotFound
from lib.domain.events import CompletionEvent
from lib.domain.model import utc_at, utc_now
from lib.ports import DeliveryHistory, DeliveryLog, EndpointRecords
from lib.usecases.delivery import DELIVERED, RETRY, Decision

logger = Logger(child=True)


class DeliveryRecorder:
    """Writes to the log that never fail the delivery they describe. Without a log, does nothing."""

    def __init__(self, log: DeliveryLog | None, clock: Callable[[], float] = time.time):
        self.log = log
        self.clock = clock

    def queued_entry(self, event: CompletionEvent) -> QueuedEntry | None:
        """The entry a claim opens for `event` as it queues it (DeliveryStates.claim); None without
        a log. Written with the claim, it fails with it, and the claim is tried again."""
        return QueuedEntry(event, utc_now()) if self.log is not None else None

    def queued(self, message: EndpointMessage) -> None:
        if self.log is not None:
            self._safely(
                "queued", lambda log: log.record_queued(message.owner, message.endpoint_id, message.event, utc_now())
            )

    def skipped(self, message: EndpointMessage, reason: str) -> None:
        if self.log is not None:
            self._safely(
                "skipped",
                lambda log: log.record_skipped(message.owner, message.endpoint_id, message.event, reason, utc_now()),
            )

    def attempted(self, message: EndpointMessage, decision: Decision, attempt: int, max_attempts: int) -> None:
        """Records one finished try and the state it leaves: a retry is scheduled only while the
        queue has tries left (after the last, the message goes to the dead-letter queue)."""
        if self.log is None:
            return
        now = self.clock()
        started = decision.post_started_ms / 1000 if decision.post_started_ms is not None else now
        delivered = decision.action == DELIVERED
        retrying = decision.action == RETRY and attempt < max_attempts
        recorded = RecordedAttempt(
            key=f"{message.replay or 'first'}:{attempt}:{decision.post_started_ms or round(now * 1000)}",
            attempt=Attempt(
                at=utc_at(started),
                status_code=decision.status_code,
                duration_ms=decision.post_ms,
                error=None if delivered else decision.reason,
                replay=bool(message.replay),
            ),
            status=delivery_log.DELIVERED if delivered else delivery_log.FAILED,
            next_retry_at=utc_at(now + decision.delay_seconds) if retrying else None,
            reason=None if delivered or retrying else decision.reason,
        )
        self._safely(
            "attempt", lambda log: log.record_attempt(message.owner, message.endpoint_id, message.event, recorded)
        )

    def _safely(self, what: str, write: Callable[[DeliveryLog], None]) -> None:
        try:
            write(self.log)  # type: ignore[arg-type]
        except DomainError as e:
            logger.warning(
                "could not write the delivery log; the delivery goes on", extra={"entry": what, "reason": str(e)}
            )
        except Exception:  # a fault of the log's own: still never worth failing (and so repeating) a send
            logger.exception("the delivery log write failed; the delivery goes on", extra={"entry": what})


class DeliveryLogPages:
    """`GET /webhooks/{id}/deliveries`: one endpoint's log, newest first, inside its owner."""

    def __init__(self, records: EndpointRecords, history: DeliveryHistory):
        self.records = records
        self.history = history

    def page(self, owner: str, endpoint_id: str, query: LogQuery) -> tuple[list[LoggedDelivery], str | None]:
        """The entries and the next page's cursor (None on the last page)."""
        require_endpoint(self.records, owner, endpoint_id)
        scope = delivery_log.log_scope(owner, endpoint_id, query.status)
        after = delivery_log.decode_cursor(query.cursor, scope) if query.cursor else None
        entries, position = self.history.page(owner, endpoint_id, query.status, query.limit, after)
        return entries, delivery_log.encode_cursor(position, scope) if position else None


def require_endpoint(records: EndpointRecords, owner: str, endpoint_id: str) -> Endpoint:
    """The owner's endpoint; another owner's is not found, exactly as a missing one."""
    endpoint = records.get(owner, endpoint_id) if is_endpoint_id(endpoint_id) else None
    if endpoint is None:
        raise NotFound(f"no webhook endpoint with id {endpoint_id[:64]!r}")
    return endpoint
