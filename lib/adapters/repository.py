"""DynamoDB adapter for image records.

One table holds two kinds of item:
- the image item (sk=IMAGE), which also carries `listing`, one of its owner's few shards, so the
  `by-created` index lists an owner's images without a single hot partition (lib/domain/listing.py);
- one small label item per (image, label) (sk=LABEL#<name>), indexed by `by-label` under its
  owner's label partitions.
Both indexes sort by `created`, so "newest first" and "newest labelled X" are Queries inside one
owner, never Scans. A deleted image leaves a tombstone (status DELETED) until the table's TTL.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.adapters.content_index import ContentIndex
from lib.adapters.image_items import (
    IMAGE_SK,
    LABEL_SK_PREFIX,
    deserialize,
    distinct_labels,
    image_item,
    label_item,
    record_from_item,
    serialize,
    tombstone_item,
)
from lib.domain import listing
from lib.domain.errors import AlreadyExists
from lib.domain.keys import image_pk
from lib.domain.model import (
    DELETED,
    NO_OWNER,
    PENDING,
    Failure,
    ImageRecord,
    Label,
    UploadSlot,
    normalize_label,
    utc_now,
)
from lib.throttling import Backoff, Throttled

# An upload slot lives beside its image's item, under the same pk, and carries no index key: no
# listing or label query can ever return it.
SLOT_SK = "UPLOAD"
# How long the table keeps a slot after it expires: TTL deletion is late on AWS (and never
# happens on moto), so reads check `expires_at` themselves; this only bounds the storage.
SLOT_RETENTION_SECONDS = 24 * 3600
BY_CREATED = "by-created"
BY_LABEL = "by-label"
BATCH_WRITE_LIMIT = 25
# Every call goes through the Backoff it is given (lib/throttling.py): throttling is retried with
# jitter inside the invocation, and only what outlasts that budget is re-queued by the handler.


@dataclass(frozen=True)
class Page:
    records: list[ImageRecord]
    next_cursor: str | None


class ImageRepository:
    def __init__(
        self, table_name: str, dynamodb: Callable[[], Any] = lambda: client("dynamodb"), backoff: Backoff | None = None
    ):
        self.table_name = table_name
        self._dynamodb = dynamodb
        self._backoff = backoff or Backoff()

    # --- writes ------------------------------------------------------------------------------------
    def create_pending(self, record: ImageRecord) -> None:
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=serialize(image_item(record)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def delete(self, image_id: str) -> None:
        self._call("delete_item", TableName=self.table_name, Key=serialize({"pk": image_pk(image_id), "sk": IMAGE_SK}))

    def create_slot(self, slot: UploadSlot) -> None:
        item = {
            "pk": image_pk(slot.image_id),
            "sk": SLOT_SK,
            "image_id": slot.image_id,
            "name": slot.name,
            "content_type": slot.content_type,
            "created": slot.created,
            "expires_at": slot.expires_at,
            "owner": slot.owner,
            "ttl": slot.expires_at + SLOT_RETENTION_SECONDS,
        }
        self._call(
            "put_item", TableName=self.table_name, Item=serialize(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def get_slot(self, image_id: str, now: float) -> UploadSlot | None:
        """The unexpired upload slot of this id, or None."""
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key=serialize({"pk": image_pk(image_id), "sk": SLOT_SK}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = deserialize(response["Item"])
        if int(item["expires_at"]) <= now:
            return None
        return UploadSlot(
            image_id=item["image_id"],
            name=item["name"],
            content_type=item["content_type"],
            created=item["created"],
            expires_at=int(item["expires_at"]),
            owner=item.get("owner") or NO_OWNER,
        )

    def complete(
        self,
        record: ImageRecord,
        status: str,
        labels: Iterable[Label] = (),
        details: dict[str, Any] | None = None,
        failure: Failure | None = None,
    ) -> ImageRecord:
        """Move a PENDING image to its final state, writing its label items first.

        The two writes are ordered so that every intermediate state is safe to retry: label items
        are idempotent puts, and the conditional status change comes last. (A transaction would do
        it in one step, at twice the write cost; moto's copies the whole table per transaction.)
        Raises AlreadyExists when the image is no longer PENDING: an earlier delivery of the same
        S3 event finished it, and this one must not write or announce a second result.
        """
        image_id = record.image_id
        labels = distinct_labels(labels)
        finished = dataclasses.replace(
            record, status=status, updated=utc_now(), labels=tuple(labels), details=details or {}, failure=failure
        )
        self._put_label_items(record, labels)
        values = {
            ":status": status,
            ":pending": PENDING,
            ":updated": finished.updated,
            ":labels": json.dumps([label.to_dict() for label in labels]),
            ":details": json.dumps(details or {}),
            ":failure": json.dumps({"code": failure.code, "message": failure.message}) if failure else "",
            ":reused_from": record.reused_from or "",
        }
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=serialize({"pk": image_pk(image_id), "sk": IMAGE_SK}),
                UpdateExpression="SET #status = :status, updated = :updated, labels = :labels, "
                "details = :details, failure = :failure, reused_from = :reused_from",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=serialize(values),
            )
        except AlreadyExists:
            current = self._get_item(image_id, consistent=True)
            if current is None or current.get("status") == DELETED:
                # Deleted while this recognition ran: the delete may have cleared the label items
                # before they were written above, so they are removed here, and nothing is announced.
                self._batch_write(image_id, [_delete_request(label_item(record, label)) for label in labels])
            raise
        return finished

    def _put_label_items(self, record: ImageRecord, labels: list[Label]) -> None:
        self._batch_write(
            record.image_id, [{"PutRequest": {"Item": serialize(label_item(record, label))}} for label in labels]
        )

    def _batch_write(self, image_id: str, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            # BatchWriteItem may leave some items unprocessed under throttling; ask again, a bounded number of times.
            for _ in range(5):
                response = self._call("batch_write_item", RequestItems={self.table_name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    break
            if pending:
                raise Throttled("DynamoDB", f"the image table is throttling writes for image {image_id}")

    def mark_event_published(self, image_id: str) -> None:
        self._set_flag(image_id, "event_published")

    def mark_delivered(self, image_id: str) -> None:
        self._set_flag(image_id, "delivered")

    def is_delivered(self, image_id: str) -> bool:
        item = self._get_item(image_id, consistent=True)
        return bool(item and item.get("delivered"))

    def is_deleted(self, image_id: str) -> bool:
        item = self._get_item(image_id, consistent=True)
        return bool(item and item.get("status") == DELETED)

    def _set_flag(self, image_id: str, flag: str) -> None:
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=serialize({"pk": image_pk(image_id), "sk": IMAGE_SK}),
            UpdateExpression=f"SET {flag} = :true",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":true": True}),
        )

    # --- content entries (lib/adapters/content_index.py) ---------------------------------------------
    def content_index(self) -> ContentIndex:
        return ContentIndex(self.table_name, self._call)

    def forget_content(self, record: ImageRecord) -> None:
        """Call when an image is deleted: a later upload of the same bytes must not reuse its result."""
        self.content_index().forget_content(record)

    # --- deletion ----------------------------------------------------------------------------------
    def bury(self, record: ImageRecord, deleted_at: str, expires_at: int, *, slot_only: bool = False) -> None:
        """Replace the image item by its tombstone, if it is still this owner's live image (or, for
        an upload slot whose object has not arrived, if there is still no image item).

        Raises AlreadyExists when it is not (another delete came first, or the upload arrived), so
        that deleting twice answers as deleting a missing image.
        """
        if slot_only:
            condition, names, values = "attribute_not_exists(pk)", {}, {}
        else:
            condition = "#owner = :owner AND #status <> :deleted"
            names = {"ExpressionAttributeNames": {"#owner": "owner", "#status": "status"}}
            values = {"ExpressionAttributeValues": serialize({":owner": record.owner, ":deleted": DELETED})}
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=serialize(tombstone_item(record, deleted_at, expires_at)),
            ConditionExpression=condition,
            **names,
            **values,
        )

    def delete_label_items(self, image_id: str) -> None:
        """Every (image, label) item of this image, found by a Query on its own partition key."""
        keys: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        while True:
            response = self._call(
                "query",
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :labels)",
                ExpressionAttributeValues=serialize({":pk": image_pk(image_id), ":labels": LABEL_SK_PREFIX}),
                ProjectionExpression="pk, sk",
                **start,
            )
            keys += [deserialize(item) for item in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                break
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
        self._batch_write(image_id, [_delete_request(key) for key in keys])

    def delete_slot(self, image_id: str) -> None:
        self._call("delete_item", TableName=self.table_name, Key=serialize({"pk": image_pk(image_id), "sk": SLOT_SK}))

    # --- reads -------------------------------------------------------------------------------------
    def get(self, image_id: str) -> ImageRecord | None:
        """The image item, whoever owns it, tombstones included: for the pipeline, never for a caller."""
        item = self._get_item(image_id, consistent=True)
        return record_from_item(item) if item else None

    def get_owned(self, image_id: str, owner: str) -> ImageRecord | None:
        """This owner's live image, or None: another owner's image, a deleted one and a missing one
        all read the same, so a caller learns nothing of images that are not its own."""
        record = self.get(image_id)
        return record if record is not None and record.visible_to(owner) else None

    def list_recent(self, owner: str, limit: int, cursor: str | None = None) -> Page:
        """The owner's images, newest first."""
        partitions = listing.listing_partitions(owner)
        items, next_cursor = self._merged_page(BY_CREATED, "listing", partitions, limit, cursor)
        records = [record_from_item(item) for item in items]
        return Page([record for record in records if record.owner == owner], next_cursor)

    def list_by_label(self, owner: str, label: str, limit: int, cursor: str | None = None) -> Page:
        """The owner's images with this label, newest first."""
        wanted = normalize_label(label)
        partitions = listing.label_partitions(owner, wanted)
        items, next_cursor = self._merged_page(BY_LABEL, "label", partitions, limit, cursor)
        pks = [item["pk"] for item in items]
        by_pk = self._batch_get(pks)
        # Label items are written just before the image's final status, and a retried recognition
        # may answer other labels than a first try that stopped half-way: the image record decides.
        records = [
            record
            for record in (record_from_item(by_pk[pk]) for pk in pks if pk in by_pk)
            if record.owner == owner
            and record.status not in (PENDING, DELETED)
            and any(normalize_label(mine.name) == wanted for mine in record.labels)
        ]
        return Page(records, next_cursor)

    def _merged_page(
        self, index: str, attribute: str, partitions: tuple[str, ...], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The newest `limit` index items after the cursor over every shard of one listing, merged,
        and the cursor of the next page (bound to this listing)."""
        scope = listing.scope_of(partitions)
        after = listing.decode_cursor(cursor, scope) if cursor else None
        # The shards are queried at once: a page costs one query's latency, not eight.
        with ThreadPoolExecutor(len(partitions)) as pool:
            pages = list(
                pool.map(lambda partition: self._shard_page(index, attribute, partition, limit, after), partitions)
            )
        items = listing.newest_first((page for page, _ in pages), limit + 1)
        more = len(items) > limit or any(has_more for _, has_more in pages)
        items = items[:limit]
        next_cursor = listing.encode_cursor(listing.position(items[-1]), scope) if items and more else None
        return items, next_cursor

    def _shard_page(
        self, index: str, attribute: str, partition: str, limit: int, after: listing.Position | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` items of one shard strictly after `after`, and whether the shard has more."""
        condition, values = "#partition = :partition", {":partition": partition}
        if after is not None:
            condition += " AND created <= :created"
            values[":created"] = after[0]
        found: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        while True:
            response = self._call(
                "query",
                TableName=self.table_name,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeNames={"#partition": attribute},
                ExpressionAttributeValues=serialize(values),
                ScanIndexForward=False,
                Limit=limit + 1,
                **start,
            )
            for item in (deserialize(raw) for raw in response.get("Items", [])):
                # Items created in the same microsecond as the cursor's are ordered by pk.
                if after is None or listing.position(item) < after:
                    found.append(item)
            last = response.get("LastEvaluatedKey")
            if len(found) > limit or not last:
                return found[:limit], len(found) > limit or bool(last)
            start = {"ExclusiveStartKey": last}

    def _batch_get(self, pks: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        keys = [serialize({"pk": pk, "sk": IMAGE_SK}) for pk in dict.fromkeys(pks)]
        # BatchGetItem may return part of the answer as UnprocessedKeys; ask again, a bounded number of times.
        for _ in range(5):
            if not keys:
                break
            response = self._call("batch_get_item", RequestItems={self.table_name: {"Keys": keys}})
            for item in response.get("Responses", {}).get(self.table_name, []):
                plain = deserialize(item)
                found[plain["pk"]] = plain
            keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        if keys:
            raise Throttled("DynamoDB", "the image table is throttling reads; try again")
        return found

    def _get_item(self, image_id: str, consistent: bool) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key=serialize({"pk": image_pk(image_id), "sk": IMAGE_SK}),
            ConsistentRead=consistent,
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self._backoff.run(lambda: self._call_once(operation, **kwargs))

    def _call_once(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        translation = Translation(
            failed=lambda code, e: f"image table {operation} failed: {e}",
            dependency="DynamoDB",
            codes={
                "ConditionalCheckFailedException": lambda code, e: AlreadyExists(
                    f"conditional {operation} found the record in another state"
                )
            },
            throttled=lambda code: f"image table {operation} was throttled ({code})",
        )
        return call_aws(lambda: getattr(self._dynamodb(), operation)(**kwargs), translation)


def _delete_request(item: dict[str, Any]) -> dict[str, Any]:
    return {"DeleteRequest": {"Key": serialize({"pk": item["pk"], "sk": item["sk"]})}}
