"""Keeping each endpoint's health as its attempts finish, and disabling one that has failed too long.

A failed attempt records when the endpoint's failing began (the first failure since its last
success, agreed by a conditional write however many attempts fail at once); a 2xx ends it. A
failure at least the span after that start disables the endpoint, once: the attempt whose write
disabled it says so in its decision, so the deliver function counts it (lib/observability.py).
Messages that arrive afterwards are skipped until the owner turns it back on
(lib/usecases/subscriptions.py), which starts its failing spell afresh.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from lib.domain.endpoint_health import (
    DEFAULT_DISABLE_AFTER_SECONDS,
    FAILING,
    auto_disable_reason,
    failing_too_long,
)
from lib.domain.endpoints import Endpoint
from lib.domain.errors import TransientError
from lib.domain.model import utc_at
from lib.ports import EndpointRecords
from lib.usecases.delivery import PERMANENT, Decision

logger = Logger(child=True)


class EndpointHealth:
    def __init__(
        self,
        records: EndpointRecords,
        disable_after_seconds: int = DEFAULT_DISABLE_AFTER_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.records = records
        self.disable_after_seconds = disable_after_seconds
        self.clock = clock

    def succeeded(self, endpoint: Endpoint) -> None:
        try:
            self.records.mark_healthy(endpoint.owner, endpoint.endpoint_id, utc_at(self.clock()))
        except TransientError as e:
            # The receiver has the event; the next success or failure records the endpoint's health.
            logger.warning("delivered, but could not record the endpoint healthy", extra={"reason": str(e)})

    def failed(self, endpoint: Endpoint, decision: Decision) -> Decision:
        """The decision for a failed attempt: as it was, or final if this failure disabled the endpoint."""
        now = self.clock()
        try:
            failing_since = self.records.mark_failing(endpoint.owner, endpoint.endpoint_id, utc_at(now))
            if not failing_too_long(failing_since, now, self.disable_after_seconds):
                return decision
            reason = auto_disable_reason(decision.reason, failing_since, self.disable_after_seconds)
            if not self.records.disable_failing(
                endpoint.owner, endpoint.endpoint_id, failing_since, reason, utc_at(now)
            ):
                return decision  # a success, the owner or another attempt came first
        except TransientError as e:
            # The attempt's own outcome stands; the next failure records the endpoint's health.
            logger.warning("could not record the endpoint's failure", extra={"reason": str(e)})
            return decision
        logger.warning(
            "endpoint disabled: it has failed for the whole span",
            extra={"failing_since": failing_since, "disable_after_seconds": self.disable_after_seconds},
        )
        # Final for this message: the endpoint takes no more until it is turned back on.
        return dataclasses.replace(decision, action=PERMANENT, reason=reason, endpoint_disabled=FAILING)
