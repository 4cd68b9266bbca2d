"""How the image table stores an image: keys, the item <-> ImageRecord mapping, label items and tombstones.

The repository (lib/adapters/repository.py) decides what to read and write; this module only shapes items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lib.domain import listing
from lib.domain.keys import image_pk
from lib.domain.model import DELETED, NO_OWNER, Failure, ImageRecord, Label, normalize_label

IMAGE_SK = "IMAGE"
LABEL_SK_PREFIX = "LABEL#"


# --- item mapping ----------------------------------------------------------------------------------
def image_item(record: ImageRecord) -> dict[str, Any]:
    item = {
        "pk": image_pk(record.image_id),
        "sk": IMAGE_SK,
        "image_id": record.image_id,
        "name": record.name,
        "status": record.status,
        "created": record.created,
        "updated": record.updated,
        "bucket": record.bucket,
        "key": record.key,
        "content_type": record.content_type,
        "size_bytes": record.size_bytes,
        "width": record.width,
        "height": record.height,
        "source_url": record.source_url or "",
        "labels": "[]",
        "details": "{}",
        "failure": "",
        "upload_etag": record.upload_etag or "",
        "owner": record.owner,
        "content_sha256": record.content_sha256 or "",
        "reused_from": record.reused_from or "",
    }
    # A record without an owner is in nobody's listing: no index key, no listing entry.
    if record.owner != NO_OWNER:
        item["listing"] = listing.listing_partition(record.owner, record.image_id)
    return item


def label_item(record: ImageRecord, label: Label) -> dict[str, Any]:
    """The (image, label) item the `by-label` index lists, under its owner's label partition."""
    name = normalize_label(label.name)
    item = {
        "pk": image_pk(record.image_id),
        "sk": f"{LABEL_SK_PREFIX}{name}",
        "created": record.created,
        "image_id": record.image_id,
    }
    if record.owner != NO_OWNER:
        item["label"] = listing.label_partition(record.owner, record.image_id, name)
    return item


def tombstone_item(record: ImageRecord, deleted_at: str, expires_at: int) -> dict[str, Any]:
    """What stays of a deleted image until the table's TTL removes it: its id, owner and status, and
    no index key, so no listing can find it. Work still in flight for the image (a recognition, a
    queued webhook) meets it and stops, rather than bringing the image back."""
    return {
        "pk": image_pk(record.image_id),
        "sk": IMAGE_SK,
        "image_id": record.image_id,
        "status": DELETED,
        "owner": record.owner,
        "name": "",
        "created": record.created,
        "updated": deleted_at,
        "bucket": record.bucket,
        "key": record.key,
        "content_type": record.content_type,
        "size_bytes": 0,
        "width": 0,
        "height": 0,
        "ttl": expires_at,
    }


def record_from_item(item: dict[str, Any]) -> ImageRecord:
    failure = json.loads(item["failure"]) if item.get("failure") else None
    return ImageRecord(
        image_id=item["image_id"],
        name=item["name"],
        status=item["status"],
        created=item["created"],
        updated=item["updated"],
        bucket=item["bucket"],
        key=item["key"],
        content_type=item["content_type"],
        size_bytes=int(item["size_bytes"]),
        width=int(item["width"]),
        height=int(item["height"]),
        source_url=item.get("source_url") or None,
        labels=tuple(Label.from_dict(label) for label in json.loads(item.get("labels") or "[]")),
        details=json.loads(item.get("details") or "{}"),
        failure=Failure(**failure) if failure else None,
        event_published=bool(item.get("event_published")),
        upload_etag=item.get("upload_etag") or None,
        owner=item.get("owner") or NO_OWNER,
        content_sha256=item.get("content_sha256") or None,
        reused_from=item.get("reused_from") or None,
    )


def distinct_labels(labels: Iterable[Label]) -> list[Label]:
    """One label item per normalized name; the most confident wins."""
    best: dict[str, Label] = {}
    for label in labels:
        key = normalize_label(label.name)
        if key not in best or label.confidence > best[key].confidence:
            best[key] = label
    return sorted(best.values(), key=lambda label: -label.confidence)


# --- DynamoDB's typed values -------------------------------------------------------------------
def serialize(plain: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in plain.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}
