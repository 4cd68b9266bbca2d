"""Subscribed endpoints in a run: one owner's endpoints at the stack inbox's named receivers, audited.

In a chaos run each endpoint has a fault of its own (RECEIVERS): one healthy, one failing a share
of its requests, one slow, one that answers 410 Gone after a few deliveries, which disables it.
Every image that ended DONE or FAILED must reach each endpoint exactly once (one 2xx for its
`webhook-id`) or sit in the endpoint dead-letter queue, or, if its event sits in the integration
dead-letter queue before the fan-out ever claimed it for the endpoint, there: a redrive of that
event fans it out again. (One claimed and never sent is not recoverable that way, as the claim
belongs to the message that made it: that counts as lost.) The gone endpoint's later events may
instead be skipped, with evidence in the logs (local/chaos/endpoint_accounts.py). Anything else is
a loss, and a `webhook-id` accepted twice by one endpoint, its sender waiting for both answers, is
a duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from lib.adapters.endpoint_records import delivery_key
from lib.domain.endpoints import EndpointMessage
from local.chaos.endpoint_accounts import (
    EndpointFigures,
    accepted_ids,
    account,
    first_gone_at,
    skipped_ids,
)
from local.chaos.queues import dead_letter_bodies
from local.observability import logs
from local.stack import LocalSystem


@dataclass(frozen=True)
class Receiver:
    name: str
    query: str  # the behavior its URL asks for (local/sidecars/receivers.py)
    fault: str  # the same, for the report
    may_go_away: bool = False  # answers 410 at some point: its later events are skipped


RECEIVERS = (
    Receiver("chaos-healthy", "", "healthy"),
    Receiver("chaos-flaky", "?fail_percent=30", "500 to 30% of requests"),
    # Slower than most receivers, yet within the sender's 1 s timeout in a chaos run. On a loaded
    # machine an answer can still come after the sender hung up; that one is not counted as accepted.
    Receiver("chaos-slow", "?delay_ms=400", "answers after 400 ms"),
    Receiver("chaos-gone", "?gone=5", "410 Gone from its 5th request on", may_go_away=True),
)


def healthy(count: int) -> tuple[Receiver, ...]:
    """`count` endpoints that accept everything at once, as a burst subscribes them."""
    return tuple(Receiver(f"endpoint-{n}", "", "healthy") for n in range(1, count + 1))


def subscribe(stack: LocalSystem, receivers: Iterable[Receiver] = RECEIVERS) -> dict[str, Receiver]:
    """Registers the endpoints through the API, as an owner would; returns the receiver by endpoint id."""
    assert stack.endpoints is not None and stack.inbox is not None
    subscribed = {}
    for receiver in receivers:
        response = requests.post(
            f"{stack.endpoints.api}/webhooks",
            json={"url": f"{stack.inbox.url}r/{receiver.name}{receiver.query}"},
            timeout=30,
        )
        response.raise_for_status()
        subscribed[response.json()["id"]] = receiver
    return subscribed


def audit_endpoints(
    stack: LocalSystem,
    expected: Mapping[str, str],
    subscribed: Mapping[str, Receiver],
    log_path: Path | None = None,
    upstream: Mapping[str, str] | None = None,
) -> EndpointFigures:
    """`expected`: the event type each final image announced, by `webhook-id`; `log_path`: the
    functions' log, where a gone endpoint's skips show; `upstream`: the owner of each event in the
    integration dead-letter queue, by `webhook-id`."""
    assert stack.inbox is not None and stack.endpoints is not None
    dead = _dead_lettered(stack)
    entries = list(logs.json_lines(log_path)) if log_path is not None and log_path.exists() else []
    accounts = []
    for endpoint_id, receiver in subscribed.items():
        received = stack.inbox.receivers.deliveries(receiver.name)
        skipped: set[str] = set()
        reason = ""
        if receiver.may_go_away:
            skipped = skipped_ids(entries, endpoint_id, first_gone_at(received))
            reason = _disabled_reason(stack.endpoints.api, endpoint_id)
        accounts.append(
            account(
                receiver.name,
                receiver.fault,
                expected,
                accepted_ids(received),
                dead[endpoint_id] | unsent(stack, endpoint_id, upstream or {}),
                skipped,
                reason,
            )
        )
    return EndpointFigures(tuple(accounts))


def unsent(stack: LocalSystem, endpoint_id: str, upstream: Mapping[str, str]) -> set[str]:
    """The dead-lettered events the fan-out never recorded as sent to this endpoint (claimed or
    not): a redrive queues them (lib/adapters/endpoint_records.py's claim)."""
    dynamodb, table = stack.session().client("dynamodb"), stack.physical("WebhooksTable")
    return {
        webhook_id
        for webhook_id, owner in upstream.items()
        if "sent_at"
        not in dynamodb.get_item(
            TableName=table,
            Key=delivery_key(owner, endpoint_id, webhook_id),
        ).get("Item", {})
    }


def _disabled_reason(api: str, endpoint_id: str) -> str:
    body: dict[str, Any] = requests.get(f"{api}/webhooks/{endpoint_id}", timeout=30).json()
    return "" if body.get("enabled", True) else str(body.get("disabled_reason", "no reason given"))


def _dead_lettered(stack: LocalSystem) -> dict[str, set[str]]:
    """The webhook-ids in the endpoint dead-letter queue, by endpoint."""
    found: dict[str, set[str]] = defaultdict(set)
    for body in dead_letter_bodies(stack, "EndpointDeadLetterQueue"):
        parsed = EndpointMessage.from_message(body)
        found[parsed.endpoint_id].add(parsed.event.id)
    return found
