"""An owner deletes an image: its objects, its record, its label items and its listing entries.

Work may still be in flight for the image: a recognition analyzing it, a completion event waiting
in the integration queue. None of it may bring the image back or announce it after the delete has
answered. So the image item is not removed but replaced by a tombstone (status DELETED, no index
keys, a TTL), which everything in flight meets:
- a recognition's final conditional update fails on it, and removes the label items it had
  already written (lib/adapters/repository.py's complete), since BatchWriteItem cannot be conditional;
- the delivery function drops every event of the image but `image.deleted` (lib/usecases/delivery.py);
- an upload arriving for the image is refused and removed (lib/usecases/arrivals.py).

The tombstone comes first, then the label items and objects go, then `image.deleted` is published.
A delete interrupted half-way is finished by the next one, which still answers 404.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from lib.domain.errors import AlreadyExists, NotFound
from lib.domain.events import DELETED, CompletionEvent
from lib.domain.keys import KEY_PREFIX, UPLOAD_PREFIX
from lib.domain.model import DELETED as DELETED_STATUS
from lib.domain.model import PENDING, ImageRecord, UploadSlot, is_image_id, utc_now
from lib.ports import DeletionRecords, ObjectVersions, Publisher

logger = Logger(child=True)

# Longer than any message about the image can wait: SQS keeps one at most 14 days, also in a
# dead-letter queue from which it may be redriven.
TOMBSTONE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class ImageDeletion:
    records: DeletionRecords
    objects: ObjectVersions
    publisher: Publisher

    def delete(self, owner: str, image_id: str) -> None:
        """Raises NotFound for another owner's image, a deleted one and a missing one alike."""
        if not is_image_id(image_id):
            raise NotFound("no image with this id")
        record, slot_only = self._target(owner, image_id)
        deleted_at = utc_now()
        try:
            self.records.bury(record, deleted_at, int(time.time()) + TOMBSTONE_SECONDS, slot_only=slot_only)
            first = True
        except AlreadyExists:
            current = self.records.get(image_id)
            if current is not None and current.status != DELETED_STATUS and current.visible_to(owner):
                return self.delete(owner, image_id)  # the upload arrived meanwhile: delete the image
            if current is None or current.owner != owner:
                raise NotFound("no image with this id") from None
            first = False  # deleted before: finish what that delete may have left, then answer 404
        self.records.delete_label_items(image_id)
        # Its content entries go with it: a later upload of the same bytes must not reuse its result.
        self.records.forget_content(record)
        removed = sum(
            self.objects.delete_every_version(f"{prefix}{image_id}.") for prefix in (KEY_PREFIX, UPLOAD_PREFIX)
        )
        self.records.delete_slot(image_id)
        event = {"image_id": image_id, "name": record.name, "deleted_at": deleted_at}
        self.publisher.publish(CompletionEvent.for_image(DELETED, event, owner))
        logger.info("image deleted", extra={"image_id": image_id, "objects_removed": removed, "first": first})
        if not first:
            raise NotFound("no image with this id")

    def _target(self, owner: str, image_id: str) -> tuple[ImageRecord, bool]:
        """The owner's image, or the owner's upload slot as the record it would become."""
        record = self.records.get(image_id)
        if record is not None:
            if record.owner != owner or not owner:
                raise NotFound("no image with this id")
            return record, False
        slot = self.records.get_slot(image_id, now=time.time())
        if slot is None or slot.owner != owner:
            raise NotFound("no image with this id")
        return _from_slot(slot), True


def _from_slot(slot: UploadSlot) -> ImageRecord:
    return ImageRecord(
        image_id=slot.image_id,
        name=slot.name,
        status=PENDING,
        created=slot.created,
        updated=slot.created,
        bucket="",
        key="",
        content_type=slot.content_type,
        size_bytes=0,
        width=0,
        height=0,
        owner=slot.owner,
    )
