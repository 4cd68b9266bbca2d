"""Webhook endpoints: what an owner subscribes, and what a delivery to one of them carries.

An endpoint belongs to one owner, has its own URL, event filter and signing secret, and its own
state (enabled, or disabled with a reason; failing since when, while its attempts fail: see
lib/domain/endpoint_health.py). Its secret is never held here in clear: the record
carries the KMS ciphertext of the current secret and, during a rotation overlap, of the previous
one with the time it stops signing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from lib.domain.errors import InvalidRequest
from lib.domain.events import DELETED, FAILED, RECOGNIZED, TEST, CompletionEvent

# What an endpoint may subscribe to; a `webhook.test` event goes only to the endpoint it tests.
EVENT_TYPES = (RECOGNIZED, FAILED, DELETED)
MAX_DESCRIPTION_LENGTH = 500
MAX_URL_LENGTH = 2048
DEFAULT_OVERLAP_SECONDS = 24 * 3600
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
ENDPOINT_ID_PREFIX = "ep_"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_endpoint_id() -> str:
    return ENDPOINT_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def is_endpoint_id(value: str) -> bool:
    body = value.removeprefix(ENDPOINT_ID_PREFIX)
    return value.startswith(ENDPOINT_ID_PREFIX) and len(body) == 20 and all(c in _ID_ALPHABET for c in body)


def event_filter(value: Any) -> tuple[str, ...]:
    """The `events` of a request: a non-empty subset of EVENT_TYPES, all of them when absent."""
    if value is None:
        return EVENT_TYPES
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"events must be a non-empty list of event types: {', '.join(EVENT_TYPES)}")
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    return tuple(t for t in EVENT_TYPES if t in value)


def description_of(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequest(f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} characters")
    return value


def overlap_of(value: Any) -> int:
    """How long the previous secret keeps signing after a rotation: 24 h unless the request says."""
    if value is None:
        return DEFAULT_OVERLAP_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OVERLAP_SECONDS:
        raise InvalidRequest(f"overlap_seconds must be an integer from 0 to {MAX_OVERLAP_SECONDS}")
    return value


@dataclass(frozen=True)
class Endpoint:
    owner: str
    endpoint_id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    created_at: str
    updated_at: str
    secret_ciphertext: str  # base64 KMS ciphertext of the current `whsec_` secret
    previous_ciphertext: str = ""  # the secret before the last rotation, while it still signs
    previous_expires_at: float = 0.0  # epoch seconds when the previous secret stops signing
    disabled_reason: str = ""
    failing_since: str = ""  # the first failed attempt since the last success (or creation, or enabling)

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events

    def signing_ciphertexts(self, now: float) -> list[str]:
        """The secrets that sign a delivery sent now, newest first (two during a rotation overlap)."""
        if self.previous_ciphertext and now < self.previous_expires_at:
            return [self.secret_ciphertext, self.previous_ciphertext]
        return [self.secret_ciphertext]

    def rotated(self, new_ciphertext: str, overlap_seconds: int, now: float, at: str) -> Endpoint:
        keep = overlap_seconds > 0
        return replace(
            self,
            secret_ciphertext=new_ciphertext,
            previous_ciphertext=self.secret_ciphertext if keep else "",
            previous_expires_at=now + overlap_seconds if keep else 0.0,
            updated_at=at,
        )

    def to_api(self, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.endpoint_id,
            "url": self.url,
            "events": list(self.events),
            "description": self.description,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.disabled_reason and not self.enabled:
            body["disabled_reason"] = self.disabled_reason
        if self.failing_since:
            body["failing_since"] = self.failing_since
        if self.previous_ciphertext and now < self.previous_expires_at:
            body["previous_secret_expires_at"] = int(self.previous_expires_at)
        return body


@dataclass(frozen=True)
class EndpointMessage:
    """One event on its way to one endpoint: the unit that is queued, retried and recorded."""

    event: CompletionEvent
    owner: str
    endpoint_id: str
    # A replay's generation (POST /webhooks/{id}/replay); "" for the first sending. A replay is sent
    # even if the message was delivered before, once per generation.
    replay: str = ""

    def to_message(self) -> str:
        message = {"event": json.loads(self.event.to_message()), "owner": self.owner, "endpoint_id": self.endpoint_id}
        if self.replay:
            message["replay"] = self.replay
        return json.dumps(message)

    @classmethod
    def from_message(cls, body: str) -> EndpointMessage:
        try:
            message = json.loads(body)
            event = CompletionEvent.from_message(json.dumps(message["event"]), allowed=(*EVENT_TYPES, TEST))
            owner, endpoint_id = str(message["owner"]), str(message["endpoint_id"])
            replay = str(message.get("replay", ""))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidRequest(f"endpoint message is malformed: {e}") from None
        if not owner or not is_endpoint_id(endpoint_id):
            raise InvalidRequest("endpoint message names no owner or no valid endpoint")
        return cls(event, owner, endpoint_id, replay)


def matching(endpoints: Iterable[Endpoint], event: CompletionEvent) -> list[Endpoint]:
    """The endpoints an event is queued for: of its owner, subscribed to its type, enabled or not.

    A disabled endpoint's message is skipped when it is delivered, not sent: so the delivery says
    what the endpoint missed while it was off, and it can be replayed once it is turned back on.
    """
    return [e for e in endpoints if e.owner == event.owner and e.subscribes_to(event.type)]
