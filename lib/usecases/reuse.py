"""Identical images recognized once per owner: a later image with the same bytes copies the first one's result.

Before an image is recognized, it claims the content entry of its (owner, SHA-256, recognition
settings) key (lib/domain/content.py). The first image to claim it is recognized as usual. Any later
one reads the image the entry names:

- DONE: its labels and details are copied onto the later image, which records the id it reused;
- PENDING: the later image waits. OriginalPending tells the handler to re-queue it with a short
  delay, carrying when the wait began; once `max_wait_seconds` have gone by it is recognized itself;
- FAILED, gone (deleted) or not the same bytes after all: the later image takes the entry over and
  is recognized itself, so the images after it wait for it instead.

Nothing here reaches across owners: the owner is part of the key, and the original's owner and hash
are checked again on the record read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from lib.domain.content import ContentKey, RecognitionSettings
from lib.domain.errors import TransientError
from lib.domain.model import DONE, PENDING, ImageRecord
from lib.ports import ContentClaims, RecognitionRecords

logger = Logger(child=True)


class OriginalPending(TransientError):
    """The first image of these bytes is still being recognized: try this one again a little later.
    Not a failure: the handler re-queues the record (handlers/sqs_records.py) rather than failing it."""

    code = "original_pending"

    def __init__(self, image_id: str, original_id: str, waiting_since: float):
        super().__init__(f"image {image_id} waits for image {original_id}, the first with the same bytes")
        self.image_id = image_id
        self.original_id = original_id
        self.waiting_since = waiting_since  # epoch seconds: when this image began to wait


class ResultReuse:
    def __init__(
        self,
        claims: ContentClaims,
        records: RecognitionRecords,
        settings: RecognitionSettings,
        max_wait_seconds: float,
        clock: Callable[[], float] = time.time,
    ):
        self.claims = claims
        self.records = records
        self.settings = settings
        self.max_wait_seconds = max_wait_seconds
        self.clock = clock

    def original_for(self, record: ImageRecord, waiting_since: float | None = None) -> ImageRecord | None:
        """The finished image of the same owner and bytes whose result `record` may copy; None when
        `record` must be recognized itself. Raises OriginalPending while that image is still PENDING."""
        if not record.content_sha256:
            return None  # written before hashes were kept: nothing to compare
        key = ContentKey(record.owner, record.content_sha256, self.settings)
        holder = self.claims.claim(key, record.image_id)
        if holder == record.image_id:
            return None  # the first with these bytes, or a redelivery of it
        original = self.records.get(holder)
        same = (
            original is not None and original.owner == record.owner and original.content_sha256 == record.content_sha256
        )
        if same and original is not None and original.status == DONE:
            return original
        if same and original is not None and original.status == PENDING:
            began = self.clock() if waiting_since is None else waiting_since
            if self.clock() - began < self.max_wait_seconds:
                raise OriginalPending(record.image_id, holder, began)
            # The first may still finish and serve the images after this one: the entry stays its.
            logger.info("waited long enough for the first image of these bytes", extra={"original": holder})
            return None
        # The first failed, or is gone: this image is recognized itself and becomes the one to wait for.
        self.claims.hand_over(key, holder, record.image_id)
        return None
