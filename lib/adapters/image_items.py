"""How the image table stores an image: keys, the item <-> ImageRecord mapping, and the label listing's cursors.

The repository (lib/adapters/repository.py) decides what to read and write; this module only shapes items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lib.domain import listing
from lib.domain.keys import image_pk
from lib.domain.model import NO_OWNER, Failure, ImageRecord, Label, normalize_label

IMAGE_SK = "IMAGE"


# --- item mapping ----------------------------------------------------------------------------------
def image_item(record: ImageRecord) -> dict[str, Any]:
    return {
        "pk": image_pk(record.image_id),
        "sk": IMAGE_SK,
        "listing": listing.partition_for(record.image_id),
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


# --- cursors: the index's LastEvaluatedKey, opaque to clients but checked on the way back in -------
def label_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return listing.encode_payload(deserialize(last_key))


def label_start_key(cursor: str | None, fields: tuple[str, ...], partition: tuple[str, str]) -> dict[str, Any]:
    if not cursor:
        return {}
    decoded = listing.decode_payload(cursor)
    if (
        not isinstance(decoded, dict)
        or set(decoded) != set(fields)
        or not all(isinstance(v, str) and len(v) <= 512 for v in decoded.values())
        # A cursor of another label's listing would start the query at a key outside it.
        or decoded[partition[0]] != partition[1]
        # Keys of the wrong shape would make DynamoDB itself refuse the query (a ValidationException).
        or not listing.IMAGE_PK.fullmatch(decoded["pk"])
        or not (decoded["sk"] == IMAGE_SK or decoded["sk"].startswith("LABEL#"))
        or not listing.CREATED.fullmatch(decoded["created"])
    ):
        raise listing.foreign_cursor()
    return {"ExclusiveStartKey": serialize(decoded)}


def serialize(plain: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in plain.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}
