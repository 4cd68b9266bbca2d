"""The delivery log of one endpoint: each message queued to it, its state and its attempts.

What `GET /webhooks/{id}/deliveries` shows and `POST /webhooks/{id}/replay` re-sends
(docs/webhooks.md). A message is one event on its way to one endpoint, named by the event's
webhook-id; its states:

    pending    queued, no attempt finished yet (or a replay queued)
    delivered  an attempt got a 2xx
    failed     the last attempt failed; `next_retry_at` is set while a retry is scheduled
    skipped    not sent: the endpoint was disabled or deleted, or no longer subscribes

Each entry keeps the event itself, so that a replay sends exactly what the first try sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lib.domain import listing
from lib.domain.endpoints import EVENT_TYPES
from lib.domain.errors import InvalidRequest
from lib.domain.events import TEST, CompletionEvent

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
STATUSES = (PENDING, DELIVERED, FAILED, SKIPPED)
# What "replay every failed one since" re-sends: what never reached the receiver.
REPLAYABLE = (FAILED, SKIPPED)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# One replay call re-sends at most this many messages; a larger backlog takes several calls.
MAX_REPLAY = 1000
# How long the log keeps a message, its attempts and its payload.
LOG_SECONDS = 30 * 24 * 3600

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
# A position in the log: the created_at#webhook-id of its last item.
POSITION = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]{8,15}Z#[A-Za-z0-9_.:-]{1,200}")


@dataclass(frozen=True)
class QueuedEntry:
    """A message's entry as the fan-out opens it when it queues the message: pending, no attempt."""

    event: CompletionEvent
    at: str


@dataclass(frozen=True)
class Attempt:
    at: str
    status_code: int | None
    duration_ms: float
    error: str | None
    replay: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "replay": self.replay,
        }


@dataclass(frozen=True)
class RecordedAttempt:
    """One finished attempt and the message's state after it, as the log records it.

    `key` names the attempt (its generation, try and start): writing the same attempt twice, as a
    retried write may, records it once."""

    key: str
    attempt: Attempt
    status: str
    next_retry_at: str | None
    reason: str | None


@dataclass(frozen=True)
class LoggedDelivery:
    webhook_id: str
    type: str
    status: str
    created_at: str
    updated_at: str
    event: CompletionEvent | None  # the payload to replay; None if the log has lost it
    next_retry_at: str | None = None
    reason: str | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "webhook_id": self.webhook_id,
            "type": self.type,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "next_retry_at": self.next_retry_at,
            "attempts": [a.to_api() for a in self.attempts],
        }
        if self.reason:
            body["reason"] = self.reason
        return body


def event_of(payload: str) -> CompletionEvent | None:
    """The logged event, as queued; None when the stored payload cannot be read back."""
    try:
        return CompletionEvent.from_message(payload, allowed=(*EVENT_TYPES, TEST))
    except (InvalidRequest, ValueError, KeyError, TypeError):
        return None


# --- the query of GET /webhooks/{id}/deliveries ------------------------------------------------------
@dataclass(frozen=True)
class LogQuery:
    status: str | None
    limit: int
    cursor: str | None

    @classmethod
    def parse(cls, parameters: dict[str, str]) -> LogQuery:
        status = parameters.get("status")
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        raw_limit = parameters.get("limit", str(DEFAULT_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
        return cls(status, int(raw_limit), parameters.get("cursor") or None)


def log_scope(owner: str, endpoint_id: str, status: str | None) -> str:
    """What a cursor is bound to: the owner, the endpoint and the status filter (a digest of them)."""
    return listing.scope_of((listing.owner_key(owner), endpoint_id, status or "*"))


def encode_cursor(position: str, scope: str) -> str:
    return listing.encode_payload({"after": position, "scope": scope})


def decode_cursor(cursor: str, scope: str) -> str:
    """The position a cursor names, if it was issued for this owner, endpoint and filter."""
    decoded = listing.decode_payload(cursor)
    if (
        not isinstance(decoded, dict)
        or set(decoded) != {"after", "scope"}
        or not all(isinstance(value, str) for value in decoded.values())
        or not POSITION.fullmatch(decoded["after"])
        or decoded["scope"] != scope
    ):
        raise listing.foreign_cursor()
    return decoded["after"]


# --- the body of POST /webhooks/{id}/replay -----------------------------------------------------------
@dataclass(frozen=True)
class ReplayRequest:
    webhook_id: str | None
    since: str | None

    @classmethod
    def parse(cls, body: Any) -> ReplayRequest:
        if not isinstance(body, dict) or len(body) != 1 or not set(body) <= {"webhook_id", "since"}:
            raise InvalidRequest('the body is exactly one of {"webhook_id": "msg_..."} or {"since": "<UTC time>"}')
        if "webhook_id" in body:
            value = body["webhook_id"]
            if not isinstance(value, str) or not re.fullmatch(r"msg_[A-Za-z0-9_]{1,128}", value):
                raise InvalidRequest("webhook_id must be a webhook-id as sent, msg_...")
            return cls(value, None)
        value = body["since"]
        if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
            raise InvalidRequest("since must be a UTC time such as 2026-01-02T03:04:05Z")
        return cls(None, _with_microseconds(value))


def _with_microseconds(value: str) -> str:
    """`since` in the log's own form (six decimals), so that comparing the strings compares the times:
    `...05Z` sorts after `...05.5Z`, `...05.000000Z` before it."""
    seconds, _, fraction = value.removesuffix("Z").partition(".")
    return f"{seconds}.{fraction.ljust(6, '0')}Z"
