"""Managing an owner's webhook endpoints: register, list, change, delete, rotate the secret, send a test.

Every operation is inside one owner: another owner's endpoint is not found, exactly as a missing
one. A secret is made here, shown once (at creation or rotation) and stored only as ciphertext.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lib.domain import webhooks
from lib.domain.endpoints import (
    Endpoint,
    EndpointMessage,
    description_of,
    event_filter,
    is_endpoint_id,
    new_endpoint_id,
    overlap_of,
)
from lib.domain.errors import InvalidRequest, NotFound, TransientError
from lib.domain.events import CompletionEvent
from lib.domain.model import utc_now
from lib.ports import DeliveryLog, EndpointQueue, EndpointRecords, EndpointUrlCheck, SecretBox
from lib.usecases.delivery_log import DeliveryRecorder, require_endpoint

# An owner's endpoints are few: each event is fanned out to all of them.
MAX_ENDPOINTS_PER_OWNER = 20
PATCHABLE = frozenset({"url", "events", "description", "enabled"})
# A PATCH or rotation that finds the endpoint changed under it tries again on what it finds; one
# changed under every attempt is answered 503.
WRITE_ATTEMPTS = 5


class Subscriptions:
    def __init__(
        self,
        records: EndpointRecords,
        secrets: SecretBox,
        urls: EndpointUrlCheck,
        queue: EndpointQueue,
        clock: Callable[[], float] = time.time,
        log: DeliveryLog | None = None,
    ):
        self.records = records
        self.secrets = secrets
        self.urls = urls
        self.queue = queue
        self.clock = clock
        self.recorder = DeliveryRecorder(log)

    def register(self, owner: str, request: dict[str, Any]) -> tuple[Endpoint, str]:
        """The new endpoint and its secret, which is returned this once and never again."""
        unknown = sorted(set(request) - {"url", "events", "description"})
        if unknown:
            raise InvalidRequest(f"unknown fields {unknown}; a new endpoint takes url, events and description")
        url = _url_of(request.get("url"))
        events = event_filter(request.get("events"))
        description = description_of(request.get("description"))
        self.urls.check(url)
        if len(self.records.list_for_owner(owner)) >= MAX_ENDPOINTS_PER_OWNER:
            raise InvalidRequest(f"an owner may register at most {MAX_ENDPOINTS_PER_OWNER} endpoints")
        endpoint_id, secret, now = new_endpoint_id(), webhooks.generate_secret(), utc_now()
        endpoint = Endpoint(
            owner=owner,
            endpoint_id=endpoint_id,
            url=url,
            events=events,
            description=description,
            enabled=True,
            created_at=now,
            updated_at=now,
            secret_ciphertext=self.secrets.encrypt(secret, owner, endpoint_id),
        )
        self.records.create(endpoint)
        return endpoint, secret

    def list(self, owner: str) -> list[Endpoint]:
        return sorted(self.records.list_for_owner(owner), key=lambda e: e.created_at)

    def get(self, owner: str, endpoint_id: str) -> Endpoint:
        return require_endpoint(self.records, owner, endpoint_id)

    def update(self, owner: str, endpoint_id: str, request: dict[str, Any]) -> Endpoint:
        endpoint = self.get(owner, endpoint_id)
        unknown = sorted(set(request) - PATCHABLE)
        if unknown:
            raise InvalidRequest(f"unknown fields {unknown}; PATCH takes {', '.join(sorted(PATCHABLE))}")
        patch = self._patch_of(request)
        return self._change(endpoint, lambda current: _patched(current, patch))

    def delete(self, owner: str, endpoint_id: str) -> None:
        if not is_endpoint_id(endpoint_id) or not self.records.delete(owner, endpoint_id):
            raise NotFound(f"no webhook endpoint with id {endpoint_id[:64]!r}")

    def rotate(self, owner: str, endpoint_id: str, request: dict[str, Any]) -> tuple[Endpoint, str]:
        """A new secret; the previous one keeps signing for the overlap (24 h unless the request says)."""
        endpoint = self.get(owner, endpoint_id)
        unknown = sorted(set(request) - {"overlap_seconds"})
        if unknown:
            raise InvalidRequest(f"unknown fields {unknown}; rotate-secret takes overlap_seconds")
        overlap = overlap_of(request.get("overlap_seconds"))
        secret = webhooks.generate_secret()
        ciphertext = self.secrets.encrypt(secret, owner, endpoint_id)
        rotated = self._change(endpoint, lambda current: current.rotated(ciphertext, overlap, self.clock(), utc_now()))
        return rotated, secret

    def send_test(self, owner: str, endpoint_id: str) -> CompletionEvent:
        """Queues a `webhook.test` event for this endpoint alone; the deliver function signs and sends it."""
        endpoint = self.get(owner, endpoint_id)
        message = EndpointMessage(CompletionEvent.for_test(owner, endpoint.endpoint_id), owner, endpoint.endpoint_id)
        self.recorder.queued(message)
        self.queue.send(message)
        return message.event

    def _patch_of(self, request: dict[str, Any]) -> dict[str, Any]:
        """The PATCH's fields, each checked, as the endpoint's new values."""
        patch: dict[str, Any] = {}
        if "url" in request:
            patch["url"] = _url_of(request["url"])
            self.urls.check(patch["url"])
        if "events" in request:
            patch["events"] = event_filter(request["events"])
        if "description" in request:
            patch["description"] = description_of(request["description"])
        if "enabled" in request:
            if not isinstance(request["enabled"], bool):
                raise InvalidRequest("enabled must be true or false")
            patch["enabled"] = request["enabled"]
        return patch

    def _change(self, endpoint: Endpoint, change: Callable[[Endpoint], Endpoint]) -> Endpoint:
        """Saves `change` of the endpoint as read. A delivery may mark it failing or disable it, and
        another request change it, between the read and the write: then it is read again and the
        change applied to what is there, so nobody's write is undone by a stale copy."""
        for _ in range(WRITE_ATTEMPTS):
            changed = change(endpoint)
            if self.records.save_changes(endpoint, changed):
                return changed
            endpoint = self.get(endpoint.owner, endpoint.endpoint_id)  # NotFound if it was deleted meanwhile
        raise TransientError("the endpoint kept changing while this request changed it; try again")


def _url_of(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("url is required")
    return value.strip()


def _patched(endpoint: Endpoint, patch: dict[str, Any]) -> Endpoint:
    changes = dict(patch)
    if "url" in patch and patch["url"] != endpoint.url:  # another receiver: the old one's failures are not its own
        changes["failing_since"] = ""
    if patch.get("enabled") is True:
        # Turned (back) on: its failing spell starts afresh, so it is not disabled again at once.
        changes["disabled_reason"] = ""
        changes["failing_since"] = ""
    elif patch.get("enabled") is False and endpoint.enabled:
        changes["disabled_reason"] = "disabled by its owner"  # one disabled already keeps its reason
    return replace(endpoint, **changes, updated_at=utc_now())
