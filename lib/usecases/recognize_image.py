"""Recognition of one stored object, exactly once in effect under at-least-once delivery.

The record's status is the idempotency key: only a PENDING image is recognized and written (its
label items first, then a status change conditional on PENDING; see lib/adapters/repository.py), and
the completion event is published until the record says it was.
A duplicate S3 event therefore yields one result and one event; a crash between the write and the
publish yields the event on the next delivery.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from lib.domain.errors import AlreadyExists, InvalidImage
from lib.domain.events import FAILED as EVENT_FAILED
from lib.domain.events import RECOGNIZED, CompletionEvent, ObjectCreated
from lib.domain.keys import image_id_from_key
from lib.domain.model import DELETED, DONE, FAILED, PENDING, Failure, ImageRecord
from lib.ports import Publisher, RecognitionRecords, Recognizer
from lib.usecases.reuse import ResultReuse

logger = Logger(child=True)


@dataclass(frozen=True)
class Outcome:
    image_id: str | None
    result: str  # "recognized", "failed", "reused", "duplicate", "republished", "ignored", "discarded"
    # Set when this delivery ran the analysis: what the recognize function's metrics report.
    recognition_ms: float | None = None
    failure_code: str | None = None


class RecognitionWorkflow:
    def __init__(
        self,
        repository: RecognitionRecords,
        recognizer: Recognizer,
        publisher: Publisher,
        reuse: ResultReuse | None = None,  # None: every image is recognized, identical or not
        discard: Callable[[str, str], None] | None = None,
    ):
        self.repository = repository
        self.recognizer = recognizer
        self.publisher = publisher
        self.reuse = reuse
        # Removes an object (bucket, key) that arrived for an image already deleted.
        self.discard = discard

    def process(self, obj: ObjectCreated, waiting_since: float | None = None) -> Outcome:
        """Raises TransientError when the work should be retried later (OriginalPending: after a
        delay, passing its `waiting_since` back in)."""
        image_id = image_id_from_key(obj.key)
        if image_id is None:
            logger.warning("ignoring an object this system did not write", extra={"key": obj.key[:200]})
            return Outcome(None, "ignored")
        logger.thread_safe_append_keys(image_id=image_id)
        record = self.repository.get(image_id)
        if record is None:
            logger.warning("ignoring an object with no image record", extra={"key": obj.key})
            return Outcome(image_id, "ignored")
        if record.status == DELETED:
            # An admitted upload copied under images/ just after its image was deleted: the delete
            # found nothing there to remove, so the object is removed here (lib/usecases/deletion.py).
            if self.discard is not None:
                self.discard(obj.bucket, obj.key)
            logger.info("discarded an object of a deleted image")
            return Outcome(image_id, "discarded")
        if record.status != PENDING:
            return self._finish_duplicate(record)
        original = self.reuse.original_for(record, waiting_since) if self.reuse else None
        if original is not None:
            return self._copy_result(record, original)

        started = time.perf_counter()
        try:
            recognition = self.recognizer.recognize(obj.bucket, obj.key, obj.version_id)
            status, failure = DONE, None
            labels, details = recognition.labels, recognition.details
        except InvalidImage as e:
            status, failure = FAILED, Failure(code=e.code, message=e.message)
            labels, details = [], {}
            logger.warning("image rejected by recognition", extra={"reason": e.message})

        recognized = time.perf_counter()
        try:
            finished = self.repository.complete(record, status, labels=labels, details=details, failure=failure)
        except AlreadyExists:
            # Another delivery of the same event finished first. It owns the announcement: if it
            # fails to publish, its own message is retried and publishes then.
            logger.info("duplicate delivery lost the race to finish", extra={"status": status})
            return Outcome(image_id, "duplicate")
        stored = time.perf_counter()
        self.announce(finished)
        logger.info(
            "image recognized",
            extra={
                "status": status,
                "labels": [label.name for label in labels][:10],
                # Stage timings, which the benchmark reads back from the logs.
                "recognition_ms": round((recognized - started) * 1000, 1),
                "store_ms": round((stored - recognized) * 1000, 1),
                "publish_ms": round((time.perf_counter() - stored) * 1000, 1),
            },
        )
        return Outcome(
            image_id,
            "recognized" if status == DONE else "failed",
            recognition_ms=(recognized - started) * 1000,
            failure_code=failure.code if failure else None,
        )

    def _copy_result(self, record: ImageRecord, original: ImageRecord) -> Outcome:
        """The labels and details of the same owner's identical image, copied: each record stands alone."""
        copied = dataclasses.replace(record, reused_from=original.image_id)
        try:
            finished = self.repository.complete(copied, DONE, labels=original.labels, details=original.details)
        except AlreadyExists:
            logger.info("duplicate delivery lost the race to finish", extra={"status": DONE})
            return Outcome(record.image_id, "duplicate")
        self.announce(finished)
        # The line every finished recognition logs (local/observability/trace.py reads it), with no
        # Rekognition time: none was spent.
        logger.info("image recognized", extra={"status": DONE, "reused_from": original.image_id})
        return Outcome(record.image_id, "reused")

    def _finish_duplicate(self, record: ImageRecord) -> Outcome:
        if record.status in (DONE, FAILED) and not record.event_published:
            self.announce(record)
            return Outcome(record.image_id, "republished")
        logger.info("duplicate delivery ignored", extra={"status": record.status})
        return Outcome(record.image_id, "duplicate")

    def announce(self, record: ImageRecord) -> None:
        event_type = RECOGNIZED if record.status == DONE else EVENT_FAILED
        self.publisher.publish(CompletionEvent.for_image(event_type, record.to_api(), record.owner))
        self.repository.mark_event_published(record.image_id)
