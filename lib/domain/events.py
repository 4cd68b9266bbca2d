"""Messages that cross the queues: S3 notifications in, completion events out.

Both may arrive raw (RawMessageDelivery) or wrapped in an SNS envelope; both are accepted, so a
subscription setting cannot silently break the pipeline.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from lib.domain.errors import InvalidRequest
from lib.domain.model import utc_now

RECOGNIZED = "image.recognized"
FAILED = "image.failed"
DELETED = "image.deleted"
# Sent to one endpoint on request (POST /webhooks/{id}/test); never published on the results topic.
TEST = "webhook.test"
COMPLETION_TYPES = (RECOGNIZED, FAILED, DELETED)


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    version_id: str | None
    size: int | None
    etag: str | None = None
    event_time: str | None = None  # when S3 created the object, as S3 states it (ISO 8601)


def _unwrap_sns(body: str) -> Any:
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidRequest("message body is not JSON") from None
    if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
        try:
            return json.loads(message["Message"])
        except (TypeError, ValueError):
            raise InvalidRequest("SNS envelope carries a message that is not JSON") from None
    return message


def parse_s3_notification(body: str) -> list[ObjectCreated]:
    """The objects an S3 notification announces. S3's `s3:TestEvent` announces none."""
    message = _unwrap_sns(body)
    if not isinstance(message, dict):
        raise InvalidRequest("S3 notification is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise InvalidRequest("S3 notification has no Records list")
    created = []
    for record in records:
        try:
            if not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            created.append(
                ObjectCreated(
                    bucket=s3["bucket"]["name"],
                    # S3 URL-encodes keys in events (spaces as '+'); moto also encodes '/' as %2F.
                    key=urllib.parse.unquote_plus(s3["object"]["key"]),
                    version_id=s3["object"].get("versionId"),
                    size=s3["object"].get("size"),
                    etag=s3["object"].get("eTag"),
                    event_time=record.get("eventTime"),
                )
            )
        except (KeyError, TypeError) as e:
            raise InvalidRequest(f"S3 notification record is missing {e}") from None
    return created


@dataclass(frozen=True)
class CompletionEvent:
    """`id` is stable for an image's result, so every retry is the same webhook (`webhook-id`)."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]

    @classmethod
    def for_image(cls, event_type: str, image: dict[str, Any], owner: str) -> CompletionEvent:
        """The event about an image, carrying its owner in `data`: whoever delivers it routes by that."""
        data = {**image, "owner": owner}
        # A result's id is the image's; the deletion is another event about it, with an id of its own.
        suffix = "_deleted" if event_type == DELETED else ""
        return cls(id=f"msg_{image['image_id']}{suffix}", type=event_type, timestamp=utc_now(), data=data)

    @property
    def image_id(self) -> str:
        return str(self.data.get("image_id", ""))

    @property
    def owner(self) -> str:
        return str(self.data.get("owner", ""))

    def to_message(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "timestamp": self.timestamp, "data": self.data})

    def webhook_body(self) -> bytes:
        """The Standard Webhooks payload: type, timestamp and data; the id travels as a header."""
        return json.dumps(
            {"type": self.type, "timestamp": self.timestamp, "data": self.data}, separators=(",", ":")
        ).encode()

    @classmethod
    def for_test(cls, owner: str, endpoint_id: str) -> CompletionEvent:
        """A `webhook.test` event: a fresh id each time, since each test is a new message."""
        data = {"owner": owner, "endpoint_id": endpoint_id}
        return cls(id=f"msg_test_{uuid.uuid4().hex}", type=TEST, timestamp=utc_now(), data=data)

    @classmethod
    def from_message(cls, body: str, allowed: tuple[str, ...] = COMPLETION_TYPES) -> CompletionEvent:
        message = _unwrap_sns(body)
        try:
            event = cls(
                id=str(message["id"]),
                type=str(message["type"]),
                timestamp=str(message["timestamp"]),
                data=dict(message["data"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidRequest(f"completion event is malformed: {e}") from None
        if event.type not in allowed or not event.id:
            raise InvalidRequest(f"completion event has unknown type {event.type!r} or no id")
        return event
