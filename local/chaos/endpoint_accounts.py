"""Accounting for one subscribed endpoint after a run: what became of each event it should have had.

Each event the run announced (by `webhook-id`) ends in exactly one column for each endpoint:
delivered (accepted with a 2xx, counted once however often), in the dead-letter queue (its tries
spent, or refused for good, as a 410 is), skipped, or lost. Skipped is allowed only for an endpoint
that went away (410 Gone disables it), and only with evidence in the deliver function's logs: a
delivery that found the endpoint disabled, or a fan-out after the endpoint's first 410 that left it
out. Anything else an endpoint did not get is lost. A duplicate is a `webhook-id` accepted twice
with the sender waiting for both answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local.observability.logs import line_ms

# What the deliver function writes (handlers/deliver.py, handlers/delivery_decisions.py).
FANNED_OUT = "queued for the owner's endpoints"
SKIPPED = "skipped"


@dataclass(frozen=True)
class EndpointAccount:
    name: str
    fault: str  # what the receiver does, as the report says it
    delivered: int
    in_dlq: int
    skipped: int
    lost: int
    duplicates: int
    disabled_reason: str = ""

    @property
    def total(self) -> int:
        return self.delivered + self.in_dlq + self.skipped + self.lost

    def line(self, command: str = "chaos") -> str:
        line = (
            f"{command}: endpoint {self.name} ({self.fault}): delivered={self.delivered} in_dlq={self.in_dlq} "
            f"skipped={self.skipped} lost={self.lost} duplicates={self.duplicates}"
        )
        return line + (f"; disabled: {self.disabled_reason}" if self.disabled_reason else "")


@dataclass(frozen=True)
class EndpointFigures:
    accounts: tuple[EndpointAccount, ...]

    @property
    def endpoints(self) -> int:
        return len(self.accounts)

    @property
    def delivered(self) -> int:
        return sum(a.delivered for a in self.accounts)

    @property
    def in_dlq(self) -> int:
        return sum(a.in_dlq for a in self.accounts)

    @property
    def skipped(self) -> int:
        return sum(a.skipped for a in self.accounts)

    @property
    def lost(self) -> int:
        return sum(a.lost for a in self.accounts)

    @property
    def duplicates(self) -> int:
        return sum(a.duplicates for a in self.accounts)

    def named(self, name: str) -> EndpointAccount:
        return next(a for a in self.accounts if a.name == name)

    def lines(self, command: str = "chaos") -> list[str]:
        """A line per endpoint, then their sum; each starts with `command:`."""
        return [
            *(account.line(command) for account in self.accounts),
            f"{command}: subscribed endpoints={self.endpoints}: delivered={self.delivered} in_dlq={self.in_dlq} "
            f"skipped={self.skipped} lost={self.lost} duplicates={self.duplicates}",
        ]


def account(
    name: str,
    fault: str,
    expected: Iterable[str],
    accepted: Mapping[str, int],
    dead_lettered: set[str],
    skipped: set[str] = frozenset(),
    disabled_reason: str = "",
) -> EndpointAccount:
    """`accepted`: 2xx answers by `webhook-id`; `skipped`: the ids with evidence of a skip (empty
    for an endpoint that may not skip anything)."""
    delivered = in_dlq = skips = lost = duplicates = 0
    for webhook_id in expected:
        count = accepted.get(webhook_id, 0)
        duplicates += max(0, count - 1)
        if count:
            delivered += 1
        elif webhook_id in dead_lettered:
            in_dlq += 1
        elif webhook_id in skipped:
            skips += 1
        else:
            lost += 1
    return EndpointAccount(name, fault, delivered, in_dlq, skips, lost, duplicates, disabled_reason)


def accepted_ids(received: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """2xx answers that reached their sender, by `webhook-id`, from a named receiver's record of
    its requests. One given after the sender had timed out and hung up is not counted: the sender
    cannot know of it, and sending again is the at-least-once contract, not a duplicate."""
    return Counter(
        r["headers"].get("webhook-id", "")
        for r in received
        if 200 <= r["status"] < 300 and not r.get("sender_gone", False)
    )


def first_gone_at(received: Iterable[Mapping[str, Any]]) -> float | None:
    """Epoch seconds of the receiver's first 410: the endpoint cannot have been disabled before."""
    return min((r["received_at"] for r in received if r["status"] == 410), default=None)


def skipped_ids(entries: Iterable[Mapping[str, Any]], endpoint_id: str, gone_at: float | None) -> set[str]:
    """The `webhook-id`s the logs show were skipped for a disabled endpoint.

    Two kinds of line count: a delivery of this endpoint that ended `skipped` because it was
    disabled, and a fan-out that left the endpoint out, logged after it first answered 410 (before
    that, leaving it out would be a loss). An id the endpoint was queued for is never skipped by
    the fan-out, whatever else its lines say.
    """
    skipped: set[str] = set()
    queued: set[str] = set()
    excluded: set[str] = set()
    for entry in entries:
        webhook_id = entry.get("webhook_id")
        if not webhook_id:
            continue
        if entry.get("message") == FANNED_OUT:
            if endpoint_id in (entry.get("endpoint_ids") or ()):
                queued.add(webhook_id)
            elif gone_at is not None and (line_ms(entry) or 0) >= gone_at * 1000:
                excluded.add(webhook_id)
        elif (
            entry.get("endpoint_id") == endpoint_id
            and entry.get("action") == SKIPPED
            and "disabled" in str(entry.get("reason", ""))
        ):
            skipped.add(webhook_id)
    return skipped | (excluded - queued)


def throughput(received: Iterable[Mapping[str, Any]]) -> tuple[int, float]:
    """2xx answers in all, and a second between the first and the last of them: the delivery rate
    the endpoints saw. The rate is 0 with fewer than two."""
    times = sorted(r["received_at"] for r in received if 200 <= r["status"] < 300)
    if len(times) < 2 or times[-1] <= times[0]:
        return len(times), 0.0
    return len(times), (len(times) - 1) / (times[-1] - times[0])
