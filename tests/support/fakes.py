"""In-memory stand-ins for the adapters the use cases depend on (lib/ports.py), with no AWS and no network.

Each fake keeps what was done to it, so a test can state the outcome, and can be told to fail
the way its real adapter reports failures (domain errors only). tests/unit/test_ports.py checks
that every method here has the signature of the Protocol it implements, as the real adapter does.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any

from lib.domain.content import ContentKey, content_partition
from lib.domain.delivery_log import LoggedDelivery, QueuedEntry, RecordedAttempt
from lib.domain.endpoints import Endpoint, EndpointMessage
from lib.domain.errors import AlreadyExists, EndpointUrlRefused, RemoteClientError, TransientError
from lib.domain.events import CompletionEvent
from lib.domain.model import DELETED, PENDING, Failure, ImageRecord, Label, UploadSlot, utc_now
from lib.ports import FetchedImage, PresignedPost, Recognition, Reply


class FakeFetcher:
    """Serves the bytes it was given, by URL; any other URL is a 404 of the remote server."""

    def __init__(self, pages: dict[str, bytes] | None = None):
        self.pages = dict(pages or {})
        self.fetched: list[str] = []

    def fetch(self, url: str) -> FetchedImage:
        self.fetched.append(url)
        if url not in self.pages:
            raise RemoteClientError("The server answered HTTP 404 (Not Found).")
        return FetchedImage(content=self.pages[url])


class FakeImageStore:
    def __init__(self, bucket: str = "images-bucket", failing: bool = False):
        self.bucket = bucket
        self.failing = failing
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.presigned: list[str] = []

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        if self.failing:
            raise TransientError("could not store the image: the bucket is unavailable")
        self.objects[key] = (data, content_type, dict(metadata))

    def get(self, key: str, etag: str | None = None) -> tuple[bytes, str] | None:
        """The object and its ETag (here, a hash of the bytes); None when gone or, given etag, replaced."""
        if key not in self.objects:
            return None
        data = self.objects[key][0]
        current = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return None if etag and etag.strip('"') != current else (data, current)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def delete_every_version(self, prefix: str) -> int:
        doomed = [key for key in self.objects if key.startswith(prefix)]
        for key in doomed:
            del self.objects[key]
        return len(doomed)

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        self.presigned.append(key)
        return PresignedPost(url=f"https://{self.bucket}.s3.example.test/", fields={"key": key})


class FakeContentIndex:
    """The content entries as a dict from (partition, sort) to the image id each names."""

    def __init__(self):
        self.entries: dict[tuple[str, str], str] = {}

    def claim(self, key: ContentKey, image_id: str) -> str:
        return self.entries.setdefault((key.partition, key.sort), image_id)

    def hand_over(self, key: ContentKey, from_image_id: str, to_image_id: str) -> bool:
        if self.entries.get((key.partition, key.sort)) != from_image_id:
            return False
        self.entries[(key.partition, key.sort)] = to_image_id
        return True

    def forget_content(self, record: ImageRecord) -> None:
        if not record.content_sha256:
            return
        partition = content_partition(record.owner, record.content_sha256)
        for entry, image_id in list(self.entries.items()):
            if entry[0] == partition and image_id == record.image_id:
                del self.entries[entry]


class FakeImageRepository:
    """The image table as a dict, with the real repository's conditions: a PENDING record is
    created once, completed once, and a flag is set only on a record that exists. Its content
    entries are `content`, as the real ones share the image table."""

    def __init__(self, *records: ImageRecord):
        self.records: dict[str, ImageRecord] = {record.image_id: record for record in records}
        self.delivered: set[str] = set()
        self.slots: dict[str, UploadSlot] = {}
        self.content = FakeContentIndex()
        self.label_items_deleted: list[str] = []

    # --- direct uploads
    def create_slot(self, slot: UploadSlot) -> None:
        self.slots[slot.image_id] = slot

    def get_slot(self, image_id: str, now: float) -> UploadSlot | None:
        slot = self.slots.get(image_id)
        return slot if slot is not None and slot.expires_at > now else None

    # --- ingest
    def create_pending(self, record: ImageRecord) -> None:
        if record.image_id in self.records:
            raise AlreadyExists("conditional put_item found the record in another state")
        self.records[record.image_id] = record

    def delete(self, image_id: str) -> None:
        self.records.pop(image_id, None)

    # --- recognition
    def get(self, image_id: str) -> ImageRecord | None:
        return self.records.get(image_id)

    def complete(
        self,
        record: ImageRecord,
        status: str,
        labels: Iterable[Label] = (),
        details: dict[str, Any] | None = None,
        failure: Failure | None = None,
    ) -> ImageRecord:
        current = self.records.get(record.image_id)
        if current is None or current.status != PENDING:
            raise AlreadyExists("conditional update_item found the record in another state")
        finished = dataclasses.replace(
            current,
            status=status,
            updated=utc_now(),
            labels=tuple(labels),
            details=details or {},
            failure=failure,
            reused_from=record.reused_from,
        )
        self.records[record.image_id] = finished
        return finished

    # --- delete
    def forget_content(self, record: ImageRecord) -> None:
        self.content.forget_content(record)

    def mark_event_published(self, image_id: str) -> None:
        self._require(image_id)
        self.records[image_id] = dataclasses.replace(self.records[image_id], event_published=True)

    # --- deletion
    def bury(self, record: ImageRecord, deleted_at: str, expires_at: int, *, slot_only: bool = False) -> None:
        current = self.records.get(record.image_id)
        if slot_only and current is not None:
            raise AlreadyExists("conditional put_item found an image item")
        if not slot_only and (current is None or current.owner != record.owner or current.status == DELETED):
            raise AlreadyExists("conditional put_item found no live image of this owner")
        self.records[record.image_id] = dataclasses.replace(record, status=DELETED, updated=deleted_at, labels=())

    def delete_label_items(self, image_id: str) -> None:
        self.label_items_deleted.append(image_id)

    def delete_slot(self, image_id: str) -> None:
        self.slots.pop(image_id, None)

    # --- delivery
    def is_delivered(self, image_id: str) -> bool:
        return image_id in self.delivered

    def is_deleted(self, image_id: str) -> bool:
        record = self.records.get(image_id)
        return record is not None and record.status == DELETED

    def mark_delivered(self, image_id: str) -> None:
        self._require(image_id)
        self.delivered.add(image_id)

    def _require(self, image_id: str) -> None:
        if image_id not in self.records:
            raise AlreadyExists("conditional update_item found no record")


class FakeRecognizer:
    """Answers every image with the same labels, or raises the error it was given."""

    def __init__(self, labels: Iterable[Label] = (Label("Cat", 98.5),), error: Exception | None = None):
        self.labels = list(labels)
        self.error = error
        self.recognized: list[tuple[str, str, str | None]] = []

    def recognize(self, bucket: str, key: str, version_id: str | None = None) -> Recognition:
        self.recognized.append((bucket, key, version_id))
        if self.error is not None:
            raise self.error
        return Recognition(labels=list(self.labels))


class FakePublisher:
    def __init__(self, failures: int = 0):
        self.failures = failures  # how many publishes fail before one succeeds
        self.published: list[CompletionEvent] = []

    def publish(self, event: CompletionEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError(f"could not publish {event.type} for image {event.image_id}")
        self.published.append(event)


@dataclasses.dataclass(frozen=True)
class Post:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout_seconds: int


class FakeWebhookSender:
    """A receiver that answers each POST with the next reply it was given, then 204."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.posts: list[Post] = []

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply:
        self.posts.append(Post(url, body, dict(headers), timeout_seconds))
        return self.replies.pop(0) if self.replies else Reply(204)


# --- webhook subscriptions -------------------------------------------------------------------------
class FakeEndpointTable:
    """Endpoints and delivery states in memory, keyed by owner as the DynamoDB table keys them."""

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.states: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Each (event, endpoint)'s delivery-log entry, on its state as the table keeps it there.
        self.log_entries: dict[tuple[str, str, str], dict[str, Any]] = {}

    def create(self, endpoint: Endpoint) -> None:
        key = (endpoint.owner, endpoint.endpoint_id)
        if key in self.endpoints:
            raise AlreadyExists("endpoint exists")
        self.endpoints[key] = endpoint

    def get(self, owner: str, endpoint_id: str) -> Endpoint | None:
        return self.endpoints.get((owner, endpoint_id))

    def list_for_owner(self, owner: str) -> list[Endpoint]:
        return [e for (o, _), e in self.endpoints.items() if o == owner]

    def save_changes(self, read: Endpoint, changed: Endpoint) -> bool:
        key = (changed.owner, changed.endpoint_id)
        stored = self.endpoints.get(key)
        if stored is None:
            return False
        fields = [f.name for f in dataclasses.fields(Endpoint) if getattr(read, f.name) != getattr(changed, f.name)]
        if any(getattr(stored, name) != getattr(read, name) for name in fields if name != "updated_at"):
            return False
        self.endpoints[key] = dataclasses.replace(stored, **{name: getattr(changed, name) for name in fields})
        return True

    def delete(self, owner: str, endpoint_id: str) -> bool:
        return self.endpoints.pop((owner, endpoint_id), None) is not None

    def disable(self, owner: str, endpoint_id: str, reason: str, at: str) -> None:
        endpoint = self.endpoints.get((owner, endpoint_id))
        if endpoint is not None:
            self.endpoints[(owner, endpoint_id)] = dataclasses.replace(
                endpoint, enabled=False, disabled_reason=reason, updated_at=at
            )

    def mark_failing(self, owner: str, endpoint_id: str, at: str) -> str:
        endpoint = self.endpoints.get((owner, endpoint_id))
        if endpoint is None:
            return ""
        if not endpoint.failing_since:
            endpoint = self.endpoints[(owner, endpoint_id)] = dataclasses.replace(endpoint, failing_since=at)
        return endpoint.failing_since

    def mark_healthy(self, owner: str, endpoint_id: str, at: str) -> None:
        endpoint = self.endpoints.get((owner, endpoint_id))
        if endpoint is not None and endpoint.failing_since and endpoint.failing_since <= at:
            self.endpoints[(owner, endpoint_id)] = dataclasses.replace(endpoint, failing_since="")

    def disable_failing(self, owner: str, endpoint_id: str, failing_since: str, reason: str, at: str) -> bool:
        endpoint = self.endpoints.get((owner, endpoint_id))
        if endpoint is None or not endpoint.enabled or endpoint.failing_since != failing_since:
            return False
        self.disable(owner, endpoint_id, reason, at)
        return True

    def claim(
        self, owner: str, endpoint_id: str, webhook_id: str, claimer: str, entry: QueuedEntry | None = None
    ) -> bool:
        state = self.states.get((owner, endpoint_id, webhook_id))
        if state is not None and state.get("sent"):
            return False
        self.states[(owner, endpoint_id, webhook_id)] = {"claimed_by": claimer, "status": "queued"}
        if entry is not None:  # opened on the item, as the table's claim does: FakeDeliveryLog reads it
            self.log_entries.setdefault((owner, endpoint_id, webhook_id), new_log_entry(entry.event, entry.at))
        return True

    def mark_sent(self, owner: str, endpoint_id: str, webhook_id: str) -> None:
        self.states[(owner, endpoint_id, webhook_id)]["sent"] = True

    def begin_send(self, owner: str, endpoint_id: str, webhook_id: str, lease_seconds: int, replay: str = "") -> bool:
        state = self.states.setdefault((owner, endpoint_id, webhook_id), {"claimed_by": ""})
        if self.is_delivered(owner, endpoint_id, webhook_id, replay) or state.get("leased"):
            return False
        if replay and state.get("replay_gen") != replay:
            return False
        state["leased"] = True
        return True

    def end_send(self, owner: str, endpoint_id: str, webhook_id: str) -> None:
        self.states[(owner, endpoint_id, webhook_id)].pop("leased", None)

    def is_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> bool:
        state = self.states.get((owner, endpoint_id, webhook_id), {})
        if state.get("replay_gen", "") != replay:
            return bool(state)  # superseded by a later replay
        if replay:
            return state.get("replay_done") == replay
        return state.get("status") == "delivered"

    def mark_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> None:
        state = self.states.setdefault((owner, endpoint_id, webhook_id), {"claimed_by": ""})
        state["status"] = "delivered"
        if replay:
            state["replay_done"] = replay
        state.pop("leased", None)


def new_log_entry(event: CompletionEvent, at: str) -> dict[str, Any]:
    """A message's log entry as it is opened: pending, no attempt."""
    return {"event": event, "created_at": at, "updated_at": at, "status": "pending", "attempts": []}


class FakeDeliveryLog:
    """Each endpoint's delivery log in memory, writing where the table writes (the state's entry),
    so that a replay's generation is seen by the FakeEndpointTable it is given."""

    def __init__(self, table: FakeEndpointTable | None = None, failing: bool = False):
        self.table = table or FakeEndpointTable()
        self.entries = self.table.log_entries
        self.attempt_keys: set[tuple[str, str, str, str]] = set()  # per entry, as the table keeps them
        self.failing = failing  # every write fails, as a table that cannot be reached

    def _entry(self, owner: str, endpoint_id: str, event: CompletionEvent, at: str) -> dict[str, Any]:
        if self.failing:
            raise TransientError("the webhooks table could not be reached")
        return self.entries.setdefault((owner, endpoint_id, event.id), new_log_entry(event, at))

    def record_queued(self, owner: str, endpoint_id: str, event: CompletionEvent, at: str) -> None:
        self._entry(owner, endpoint_id, event, at)

    def record_attempt(self, owner: str, endpoint_id: str, event: CompletionEvent, recorded: RecordedAttempt) -> None:
        entry = self._entry(owner, endpoint_id, event, recorded.attempt.at)
        key = (owner, endpoint_id, event.id, recorded.key)
        if key in self.attempt_keys:
            return
        self.attempt_keys.add(key)
        entry["attempts"].append(recorded.attempt)
        entry.update(
            status=recorded.status,
            updated_at=recorded.attempt.at,
            next_retry_at=recorded.next_retry_at,
            reason=recorded.reason,
        )

    def record_skipped(self, owner: str, endpoint_id: str, event: CompletionEvent, reason: str, at: str) -> None:
        entry = self._entry(owner, endpoint_id, event, at)
        if entry["status"] != "delivered":
            entry.update(status="skipped", reason=reason, updated_at=at, next_retry_at=None)

    def _logged(self, entry: dict[str, Any]) -> LoggedDelivery:
        return LoggedDelivery(
            webhook_id=entry["event"].id,
            type=entry["event"].type,
            status=entry["status"],
            created_at=entry["created_at"],
            updated_at=entry["updated_at"],
            event=entry["event"],
            next_retry_at=entry.get("next_retry_at"),
            reason=entry.get("reason"),
            attempts=tuple(entry["attempts"]),
        )

    def _positions(self, owner: str, endpoint_id: str) -> list[tuple[str, dict[str, Any]]]:
        mine = [(f"{e['created_at']}#{k[2]}", e) for k, e in self.entries.items() if k[:2] == (owner, endpoint_id)]
        return sorted(mine, key=lambda pair: pair[0], reverse=True)

    def page(
        self, owner: str, endpoint_id: str, status: str | None, limit: int, after: str | None
    ) -> tuple[list[LoggedDelivery], str | None]:
        found = [
            (p, e)
            for p, e in self._positions(owner, endpoint_id)
            if (after is None or p < after) and (status is None or e["status"] == status)
        ]
        more = len(found) > limit
        return [self._logged(e) for _, e in found[:limit]], found[limit - 1][0] if more else None

    def get(self, owner: str, endpoint_id: str, webhook_id: str) -> LoggedDelivery | None:
        entry = self.entries.get((owner, endpoint_id, webhook_id))
        return self._logged(entry) if entry else None

    def replayable_since(self, owner: str, endpoint_id: str, since: str, limit: int) -> list[LoggedDelivery]:
        found = [
            e
            for p, e in reversed(self._positions(owner, endpoint_id))
            if p >= since and e["status"] in ("failed", "skipped")
        ]
        return [self._logged(e) for e in found[:limit]]

    def begin_replay(self, owner: str, endpoint_id: str, webhook_id: str, generation: str, at: str) -> bool:
        entry = self.entries.get((owner, endpoint_id, webhook_id))
        if entry is None:
            return False
        entry.update(status="pending", updated_at=at, next_retry_at=None, reason=None)
        self.table.states.setdefault((owner, endpoint_id, webhook_id), {"claimed_by": ""})["replay_gen"] = generation
        return True


class FakeSecretBox:
    """Reversible 'encryption' bound to {owner, endpoint}, as the KMS EncryptionContext binds it."""

    def __init__(self) -> None:
        self.decrypted = 0

    def encrypt(self, secret: str, owner: str, endpoint_id: str) -> str:
        return f"sealed:{owner}:{endpoint_id}:{secret}"

    def decrypt(self, ciphertext: str, owner: str, endpoint_id: str) -> str:
        prefix = f"sealed:{owner}:{endpoint_id}:"
        if not ciphertext.startswith(prefix):
            raise TransientError("the ciphertext belongs to another endpoint")
        self.decrypted += 1
        return ciphertext.removeprefix(prefix)


class FakeEndpointUrlCheck:
    """Refuses the URLs it was given, with their codes; allows any other."""

    def __init__(self, refused: dict[str, str] | None = None):
        self.refused = dict(refused or {})
        self.checked: list[str] = []

    def check(self, url: str) -> None:
        self.checked.append(url)
        if url in self.refused:
            raise EndpointUrlRefused(f"refused: {url}", self.refused[url])


class FakeEndpointQueue:
    def __init__(self) -> None:
        self.sent: list[EndpointMessage] = []

    def send(self, message: EndpointMessage) -> None:
        self.sent.append(message)
