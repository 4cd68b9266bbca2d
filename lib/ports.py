"""What each use case needs of its adapters, as small Protocols.

The real adapters (lib/repository.py, lib/storage.py, lib/fetch.py, lib/rekognition_client.py,
lib/publisher.py, lib/webhook_sender.py) and the in-memory fakes of the unit tests both implement
these; tests/unit/test_ports.py checks that their signatures match, so a fake cannot drift from
what it stands in for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lib.events import CompletionEvent
    from lib.fetch import FetchedImage
    from lib.model import Failure, ImageRecord, Label
    from lib.rekognition_client import Recognition
    from lib.webhook_sender import Reply


# --- ingest (lib/ingest.py) -----------------------------------------------------------------------
class Fetcher(Protocol):
    def fetch(self, url: str) -> FetchedImage: ...


class ImageBytes(Protocol):
    bucket: str

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None: ...


class PendingImages(Protocol):
    def create_pending(self, record: ImageRecord) -> None: ...

    def delete(self, image_id: str) -> None: ...


# --- recognition (lib/recognize_image.py) ---------------------------------------------------------
class Analyser(Protocol):
    def analyse(self, bucket: str, key: str, version_id: str | None = None) -> Recognition: ...


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


# --- delivery (lib/delivery.py) -------------------------------------------------------------------
class DeliveryRecords(Protocol):
    def is_delivered(self, image_id: str) -> bool: ...

    def mark_delivered(self, image_id: str) -> None: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply: ...
