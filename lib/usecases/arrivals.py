"""A directly uploaded object arrives under `uploads/`: check it, then admit it as an image or fail it.

No function saw these bytes before, so the checks an upload through the API runs come first, with
the same error codes (lib/domain/image_checks.py). An object that passes is copied to its image key under
`images/`, whose own S3 event starts recognition as for any other image; one that fails leaves a
FAILED image and is deleted. Either way the `uploads/` object is removed.

A presigned POST can be used again until it expires. The first object admitted wins: its ETag is
recorded on the image, and any other object for the same image is refused and deleted, so a
result can never be replaced. Reads ask for the ETag the event announced, so the bytes checked are
always the bytes of the object the event is about.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from lib.domain.content import content_sha256
from lib.domain.errors import AlreadyExists, InvalidImage, PayloadTooLarge, UnsupportedMediaType
from lib.domain.events import ObjectCreated
from lib.domain.image_checks import ImageLimits, inspect_image
from lib.domain.keys import UPLOAD_PREFIX, image_id_from_key, key_for
from lib.domain.model import FAILED, PENDING, Failure, ImageRecord, UploadSlot, utc_now
from lib.ports import ArrivalRecords, UploadedObjects

logger = Logger(child=True)

# S3 checks a POST's expiry when it starts; a large upload may finish after it.
ARRIVAL_GRACE_SECONDS = 15 * 60
_CHECK_FAILURES = (InvalidImage, PayloadTooLarge, UnsupportedMediaType)


@dataclass(frozen=True)
class Arrival:
    image_id: str | None
    result: str  # "admitted", "failed", "refused", "superseded", "ignored"
    failure_code: str | None = None


class UploadArrivals:
    def __init__(
        self,
        repository: ArrivalRecords,
        limits: ImageLimits,
        announce: Callable[[ImageRecord], None],
        store_for: Callable[[str], UploadedObjects],
    ):
        self.repository = repository
        self.limits = limits
        self.announce = announce
        self.store_for = store_for

    def process(self, obj: ObjectCreated) -> Arrival:
        """Raises TransientError when the work should be retried later."""
        image_id = image_id_from_key(obj.key, UPLOAD_PREFIX)
        store = self.store_for(obj.bucket)
        if image_id is None:
            logger.warning("deleting an upload this system did not ask for", extra={"key": obj.key[:200]})
            store.delete(obj.key)
            return Arrival(None, "ignored")
        logger.thread_safe_append_keys(image_id=image_id)
        existing = self.repository.get(image_id)
        if existing is not None and existing.upload_etag != _plain(obj.etag):
            logger.warning("a second upload for an image already admitted was refused", extra={"etag": obj.etag})
            store.delete(obj.key)
            return Arrival(image_id, "refused")
        if existing is not None and existing.status != PENDING:
            store.delete(obj.key)  # a retry after the result was written: only the clean-up was left
            return Arrival(image_id, "ignored")
        slot = None
        if existing is None:
            slot = self.repository.get_slot(image_id, now=time.time() - ARRIVAL_GRACE_SECONDS)
            if slot is None:
                logger.warning("deleting an upload with no open slot", extra={"key": obj.key})
                store.delete(obj.key)
                return Arrival(image_id, "ignored")
        too_large = obj.size is not None and obj.size > self.limits.max_bytes
        if too_large:
            data, etag = b"", _plain(obj.etag) or ""  # not worth reading: it fails on its size alone
        else:
            fetched = store.get(obj.key, obj.etag)
            if fetched is None:
                if existing is not None:
                    return Arrival(image_id, "ignored")  # an earlier delivery admitted it and removed it
                # Replaced or removed since this event was sent: the newer object's own event decides.
                return Arrival(image_id, "superseded")
            data, etag = fetched
        record, failure = self._check(existing or _pending_from(slot, obj, etag), data, too_large)
        if existing is None:
            try:
                self.repository.create_pending(record)
            except AlreadyExists:
                # Another delivery admitted an object first; decide again against what it recorded.
                return self.process(obj)
        if failure is not None:
            finished = self.repository.complete(record, FAILED, failure=failure)
            store.delete(obj.key)
            logger.warning("upload failed its checks", extra={"code": failure.code, "reason": failure.message})
            self.announce(finished)
            return Arrival(image_id, "failed", failure.code)
        store.put(record.key, data, record.content_type, metadata={"image-id": image_id})
        store.delete(obj.key)
        logger.info("upload admitted", extra={"size_bytes": len(data), "content_type": record.content_type})
        return Arrival(image_id, "admitted")

    def _check(self, record: ImageRecord, data: bytes, too_large: bool) -> tuple[ImageRecord, Failure | None]:
        try:
            if too_large:
                raise PayloadTooLarge(f"The upload is larger than the limit of {self.limits.max_bytes} bytes.")
            info = inspect_image(data, self.limits)
            if info.content_type != record.content_type:
                raise UnsupportedMediaType(
                    f"The upload promised {record.content_type} but the bytes are {info.content_type}."
                )
        except _CHECK_FAILURES as e:
            return record, Failure(code=e.code, message=e.message)
        checked = dataclasses.replace(
            record, size_bytes=len(data), width=info.width, height=info.height, content_sha256=content_sha256(data)
        )
        return checked, None


def _pending_from(slot: UploadSlot | None, obj: ObjectCreated, etag: str) -> ImageRecord:
    assert slot is not None
    now = utc_now()
    return ImageRecord(
        image_id=slot.image_id,
        name=slot.name,
        status=PENDING,
        created=now,
        updated=now,
        bucket=obj.bucket,
        key=key_for(slot.image_id, slot.content_type),
        content_type=slot.content_type,
        size_bytes=max(obj.size or 0, 1),
        width=0,
        height=0,
        upload_etag=etag,
        owner=slot.owner,
    )


def _plain(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None
