"""DynamoDB adapter for the content entries: which image of an owner first had these bytes.

One small item per (owner, SHA-256, recognition settings), in the image table:

    pk = HASH#<owner>#<sha256>   sk = RESULT#<features;max;min>#<model version>   image_id = <first image>

Finding the entry is a GetItem on its key; forgetting an image's entries is a Query on one
partition. No Scan, and no index: the item carries neither `listing` nor `label`, so it never
appears in a listing. The entry names the first image and holds no labels of its own: the result
is read from that image's record, which stays the one source of truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.adapters.image_items import deserialize, serialize
from lib.domain.content import ContentKey, content_partition
from lib.domain.errors import AlreadyExists, TransientError
from lib.domain.model import ImageRecord, utc_now

# A claim that finds the entry, then finds it gone (forgotten in between), tries again this often.
CLAIM_TRIES = 3


class ContentIndex:
    def __init__(self, table_name: str, call: Callable[..., dict[str, Any]]):
        """`call(operation, **kwargs)` runs one DynamoDB call with the image repository's backoff
        and error translation (ImageRepository.content_index builds this)."""
        self.table_name = table_name
        self._call = call

    def claim(self, key: ContentKey, image_id: str) -> str:
        """Records `image_id` as the first image of these bytes unless one already is; returns the one that is."""
        item = {
            "pk": key.partition,
            "sk": key.sort,
            "image_id": image_id,
            "owner": key.owner,
            "content_sha256": key.sha256,
            "created": utc_now(),
        }
        for _ in range(CLAIM_TRIES):
            try:
                self._call(
                    "put_item",
                    TableName=self.table_name,
                    Item=serialize(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return image_id
            except AlreadyExists:
                holder = self._holder(key)
                if holder is not None:
                    return holder
        raise TransientError(f"the content entry of image {image_id} kept changing; try again")

    def hand_over(self, key: ContentKey, from_image_id: str, to_image_id: str) -> bool:
        """Names `to_image_id` as the first image instead of `from_image_id` (which failed or is gone).
        False when the entry no longer names `from_image_id`: someone else took it over, or it was forgotten."""
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=serialize({"pk": key.partition, "sk": key.sort}),
                UpdateExpression="SET image_id = :to, created = :now",
                ConditionExpression="image_id = :from",
                ExpressionAttributeValues=serialize({":to": to_image_id, ":from": from_image_id, ":now": utc_now()}),
            )
        except AlreadyExists:
            return False
        return True

    def forget_content(self, record: ImageRecord) -> None:
        """Removes every entry that names this image, whatever the settings it was recognized with.
        An entry naming another image of the same bytes stays: that image still holds its result."""
        if not record.content_sha256:
            return
        partition = content_partition(record.owner, record.content_sha256)
        start: dict[str, Any] = {}
        while True:
            response = self._call(
                "query",
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk",
                FilterExpression="image_id = :id",
                ExpressionAttributeValues=serialize({":pk": partition, ":id": record.image_id}),
                ConsistentRead=True,
                **start,
            )
            for item in (deserialize(raw) for raw in response.get("Items", [])):
                try:
                    self._call(
                        "delete_item",
                        TableName=self.table_name,
                        Key=serialize({"pk": item["pk"], "sk": item["sk"]}),
                        ConditionExpression="image_id = :id",
                        ExpressionAttributeValues=serialize({":id": record.image_id}),
                    )
                except AlreadyExists:
                    pass  # handed over to another image since the query: it is no longer this image's
            if "LastEvaluatedKey" not in response:
                return
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}

    def _holder(self, key: ContentKey) -> str | None:
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key=serialize({"pk": key.partition, "sk": key.sort}),
            ConsistentRead=True,
        )
        return deserialize(response["Item"])["image_id"] if "Item" in response else None
