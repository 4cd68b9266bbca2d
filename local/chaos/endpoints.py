"""Subscribed endpoints in a chaos run: two per owner, at the stack inbox's named receivers, audited.

Every image that ended DONE or FAILED must reach each endpoint exactly once (one 2xx for its
`webhook-id`), or sit in the endpoint dead-letter queue. A duplicate is one `webhook-id` accepted
twice by one endpoint; a loss is an event an endpoint neither accepted nor dead-lettered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from lib.domain.endpoints import EndpointMessage
from local.chaos.queues import dead_letter_bodies
from local.stack import LocalSystem

# Receiver name and the behavior its URL asks for: one healthy, one that fails its first requests.
RECEIVERS = (("chaos-a", ""), ("chaos-b", "?fail=3"))


@dataclass(frozen=True)
class EndpointFigures:
    endpoints: int
    delivered: int
    in_dlq: int
    lost: int
    duplicates: int

    def line(self) -> str:
        return (
            f"chaos: subscribed endpoints={self.endpoints}: delivered={self.delivered} in_dlq={self.in_dlq} "
            f"lost={self.lost} duplicates={self.duplicates}"
        )


def subscribe(stack: LocalSystem) -> dict[str, str]:
    """Registers the endpoints through the API, as an owner would; returns receiver name by endpoint id."""
    assert stack.endpoints is not None and stack.inbox is not None
    subscribed = {}
    for name, query in RECEIVERS:
        response = requests.post(
            f"{stack.endpoints.api}/webhooks", json={"url": f"{stack.inbox.url}r/{name}{query}"}, timeout=30
        )
        response.raise_for_status()
        subscribed[response.json()["id"]] = name
    return subscribed


def audit_endpoints(stack: LocalSystem, expected: Mapping[str, str], subscribed: Mapping[str, str]) -> EndpointFigures:
    """`expected`: the event type each final image announced, by `webhook-id`."""
    assert stack.inbox is not None
    dead = _dead_lettered(stack)
    delivered = in_dlq = lost = duplicates = 0
    for endpoint_id, name in subscribed.items():
        accepted = Counter(
            d["headers"].get("webhook-id", "")
            for d in stack.inbox.receivers.deliveries(name)
            if 200 <= d["status"] < 300
        )
        for webhook_id in expected:
            count = accepted.get(webhook_id, 0)
            duplicates += max(0, count - 1)
            if count:
                delivered += 1
            elif webhook_id in dead[endpoint_id]:
                in_dlq += 1
            else:
                lost += 1
    return EndpointFigures(len(subscribed), delivered, in_dlq, lost, duplicates)


def _dead_lettered(stack: LocalSystem) -> dict[str, set[str]]:
    """The webhook-ids in the endpoint dead-letter queue, by endpoint."""
    found: dict[str, set[str]] = defaultdict(set)
    for body in dead_letter_bodies(stack, "EndpointDeadLetterQueue"):
        parsed = EndpointMessage.from_message(body)
        found[parsed.endpoint_id].add(parsed.event.id)
    return found
