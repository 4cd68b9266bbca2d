"""What each use case needs of its adapters, as small Protocols, and the values that cross them.

The real adapters (lib/adapters/, lib/fetching/fetch.py) and the in-memory fakes of the unit tests
both implement these; tests/unit/test_ports.py checks that their signatures match, so a fake cannot
drift from what it stands in for. This module imports only the domain: use cases depend on it,
adapters implement it, and neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lib.domain.content import ContentKey
    from lib.domain.delivery_log import LoggedDelivery, QueuedEntry, RecordedAttempt
    from lib.domain.endpoints import Endpoint, EndpointMessage
    from lib.domain.events import CompletionEvent
    from lib.domain.model import Failure, ImageRecord, Label, UploadSlot


# --- values that cross the ports --------------------------------------------------------------------
@dataclass(frozen=True)
class FetchedImage:
    # Only the bytes: the server's Content-Type is untrusted, and the checks sniff the bytes instead.
    content: bytes


@dataclass(frozen=True)
class Recognition:
    labels: list[Label]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Reply:
    status: int | None  # None when no answer came
    retry_after: str | None = None
    error: str | None = None  # why no answer came, safe to log
    refused: bool = False  # the URL policy refused the address: no request was sent


# --- ingest (lib/usecases/ingest.py) ----------------------------------------------------------------
class Fetcher(Protocol):
    def fetch(self, url: str) -> FetchedImage: ...


class ImageBytes(Protocol):
    bucket: str

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None: ...


class PendingImages(Protocol):
    def create_pending(self, record: ImageRecord) -> None: ...

    def delete(self, image_id: str) -> None: ...


# --- direct uploads (lib/usecases/direct_uploads.py) ------------------------------------------------
class UploadSlots(Protocol):
    def create_slot(self, slot: UploadSlot) -> None: ...


class PostSigner(Protocol):
    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost: ...


# --- admission of direct uploads (lib/usecases/arrivals.py) -----------------------------------------
class UploadedObjects(Protocol):
    def get(self, key: str, etag: str | None = None) -> tuple[bytes, str] | None: ...

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None: ...

    def delete(self, key: str) -> None: ...


class ArrivalRecords(Protocol):
    def get(self, image_id: str) -> ImageRecord | None: ...

    def get_slot(self, image_id: str, now: float) -> UploadSlot | None: ...

    def create_pending(self, record: ImageRecord) -> None: ...

    def complete(
        self,
        record: ImageRecord,
        status: str,
        labels: Iterable[Label] = (),
        details: dict[str, Any] | None = None,
        failure: Failure | None = None,
    ) -> ImageRecord: ...


# --- recognition (lib/usecases/recognize_image.py) --------------------------------------------------
class Recognizer(Protocol):
    def recognize(self, bucket: str, key: str, version_id: str | None = None) -> Recognition: ...


class RecognitionRecords(Protocol):
    def get(self, image_id: str) -> ImageRecord | None: ...

    def complete(
        self,
        record: ImageRecord,
        status: str,
        labels: Iterable[Label] = (),
        details: dict[str, Any] | None = None,
        failure: Failure | None = None,
    ) -> ImageRecord: ...

    def mark_event_published(self, image_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, event: CompletionEvent) -> None: ...


# --- identical bytes recognized once per owner (lib/usecases/reuse.py) ------------------------------
class ContentClaims(Protocol):
    def claim(self, key: ContentKey, image_id: str) -> str: ...

    def hand_over(self, key: ContentKey, from_image_id: str, to_image_id: str) -> bool: ...


class ContentEntries(Protocol):
    """What deleting an image does to its content entries, so no later upload reuses its result."""

    def forget_content(self, record: ImageRecord) -> None: ...


# --- deletion (lib/usecases/deletion.py) ------------------------------------------------------------
class DeletionRecords(Protocol):
    def get(self, image_id: str) -> ImageRecord | None: ...

    def get_slot(self, image_id: str, now: float) -> UploadSlot | None: ...

    def bury(self, record: ImageRecord, deleted_at: str, expires_at: int, *, slot_only: bool = False) -> None: ...

    def delete_label_items(self, image_id: str) -> None: ...

    def delete_slot(self, image_id: str) -> None: ...

    def forget_content(self, record: ImageRecord) -> None: ...


class ObjectVersions(Protocol):
    def delete_every_version(self, prefix: str) -> int: ...


# --- delivery (lib/usecases/delivery.py) ------------------------------------------------------------
class DeliveryRecords(Protocol):
    def is_delivered(self, image_id: str) -> bool: ...

    def is_deleted(self, image_id: str) -> bool: ...

    def mark_delivered(self, image_id: str) -> None: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply: ...


# --- webhook subscriptions (lib/usecases/subscriptions.py, lib/usecases/endpoint_delivery.py) ------
class EndpointRecords(Protocol):
    def create(self, endpoint: Endpoint) -> None: ...

    def get(self, owner: str, endpoint_id: str) -> Endpoint | None: ...

    def list_for_owner(self, owner: str) -> list[Endpoint]: ...

    def save_changes(self, read: Endpoint, changed: Endpoint) -> bool:
        """Writes the fields in which `changed` differs from `read`, each only if it still holds the
        value read; False, writing nothing, when another write changed one of them meanwhile or the
        endpoint is gone. The fields left alone keep whatever a concurrent write put there."""
        ...

    def delete(self, owner: str, endpoint_id: str) -> bool: ...

    def disable(self, owner: str, endpoint_id: str, reason: str, at: str) -> None: ...

    # An endpoint's health (lib/domain/endpoint_health.py): when its failing began, and auto-disable.
    def mark_failing(self, owner: str, endpoint_id: str, at: str) -> str: ...

    def mark_healthy(self, owner: str, endpoint_id: str, at: str) -> None: ...

    def disable_failing(self, owner: str, endpoint_id: str, failing_since: str, reason: str, at: str) -> bool: ...


class DeliveryStates(Protocol):
    """`replay` names a replay's generation: "" for the message's first sending."""

    # With `entry`, the claim also opens the message's delivery-log entry, in the same write.
    def claim(
        self, owner: str, endpoint_id: str, webhook_id: str, claimer: str, entry: QueuedEntry | None = None
    ) -> bool: ...

    def mark_sent(self, owner: str, endpoint_id: str, webhook_id: str) -> None: ...

    def begin_send(
        self, owner: str, endpoint_id: str, webhook_id: str, lease_seconds: int, replay: str = ""
    ) -> bool: ...

    def end_send(self, owner: str, endpoint_id: str, webhook_id: str) -> None: ...

    def is_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> bool: ...

    def mark_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> None: ...


# --- the delivery log (lib/usecases/delivery_log.py, lib/usecases/replay.py) -----------------------
class DeliveryLog(Protocol):
    """The deliver side's writes: each message queued to an endpoint, and each of its attempts."""

    def record_queued(self, owner: str, endpoint_id: str, event: CompletionEvent, at: str) -> None: ...

    def record_attempt(
        self, owner: str, endpoint_id: str, event: CompletionEvent, recorded: RecordedAttempt
    ) -> None: ...

    def record_skipped(self, owner: str, endpoint_id: str, event: CompletionEvent, reason: str, at: str) -> None: ...


class DeliveryHistory(Protocol):
    """The owner's side: reading an endpoint's log, newest first, and marking a message replayed."""

    def page(
        self, owner: str, endpoint_id: str, status: str | None, limit: int, after: str | None
    ) -> tuple[list[LoggedDelivery], str | None]: ...

    def get(self, owner: str, endpoint_id: str, webhook_id: str) -> LoggedDelivery | None: ...

    def replayable_since(self, owner: str, endpoint_id: str, since: str, limit: int) -> list[LoggedDelivery]: ...

    def begin_replay(self, owner: str, endpoint_id: str, webhook_id: str, generation: str, at: str) -> bool: ...


class SecretBox(Protocol):
    def encrypt(self, secret: str, owner: str, endpoint_id: str) -> str: ...

    def decrypt(self, ciphertext: str, owner: str, endpoint_id: str) -> str: ...


class EndpointUrlCheck(Protocol):
    def check(self, url: str) -> None: ...


class EndpointQueue(Protocol):
    def send(self, message: EndpointMessage) -> None: ...
