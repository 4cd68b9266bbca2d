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


# --- deletion (lib/usecases/deletion.py) ------------------------------------------------------------
class DeletionRecords(Protocol):
    def get(self, image_id: str) -> ImageRecord | None: ...

    def get_slot(self, image_id: str, now: float) -> UploadSlot | None: ...

    def bury(self, record: ImageRecord, deleted_at: str, expires_at: int, *, slot_only: bool = False) -> None: ...

    def delete_label_items(self, image_id: str) -> None: ...

    def delete_slot(self, image_id: str) -> None: ...


class ObjectVersions(Protocol):
    def delete_every_version(self, prefix: str) -> int: ...


# --- delivery (lib/usecases/delivery.py) ------------------------------------------------------------
class DeliveryRecords(Protocol):
    def is_delivered(self, image_id: str) -> bool: ...

    def is_deleted(self, image_id: str) -> bool: ...

    def mark_delivered(self, image_id: str) -> None: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply: ...
