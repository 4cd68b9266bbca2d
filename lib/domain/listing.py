"""The newest-first listing, spread over shards so that no single partition caps upload throughput.

Every image item carries a `listing` key for the `by-created` index. With one value for all
items, that index has one partition, and one partition takes about 1,000 writes a second: a large
upload burst would be throttled there before anything else (docs/scaling.md). So each image goes
to one of SHARDS partitions, chosen from its id (`IMAGE#0` .. `IMAGE#7`), and a page is the merge
of the newest items of every shard.

Items written before sharding carry the single value `IMAGE`. It is read as one more shard, so
they keep listing in their place without any migration; new items never go there.

A page's order is (created, pk) descending, and its cursor is the position of its last item.
The next page asks each shard for items strictly after that position, so a page never repeats or
skips an item, whichever shards the items are in.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any

from lib.domain.errors import InvalidRequest
from lib.domain.keys import IMAGE_PREFIX

SHARDS = 8
LEGACY_PARTITION = "IMAGE"
PARTITIONS = tuple(f"{IMAGE_PREFIX}{shard}" for shard in range(SHARDS)) + (LEGACY_PARTITION,)

# The shapes a cursor's keys must have: anything else would make DynamoDB itself refuse the query.
IMAGE_PK = re.compile(re.escape(IMAGE_PREFIX) + r"[0-9a-f]{32}")
CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def partition_for(image_id: str) -> str:
    """The shard of an image: stable, and even over random ids."""
    return f"{IMAGE_PREFIX}{int(image_id[:8], 16) % SHARDS}"


Position = tuple[str, str]  # (created, pk)


def position(item: dict[str, Any]) -> Position:
    return (item["created"], item["pk"])


def newest_first(pages: Iterable[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """The `limit` newest items of the shards' pages, each page itself newest first."""
    merged = sorted((item for page in pages for item in page), key=position, reverse=True)
    return merged[:limit]


# --- cursors: opaque to clients, but checked on the way back in --------------------------------------
def encode_payload(fields: dict[str, Any]) -> str:
    raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_payload(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not valid; pass back the next_cursor of a previous page") from None


def foreign_cursor() -> InvalidRequest:
    return InvalidRequest("cursor does not belong to this listing; pass back the next_cursor of a previous page")


def encode_cursor(last: Position) -> str:
    return encode_payload({"created": last[0], "pk": last[1]})


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; also accepts the index key cursors of the unsharded listing."""
    decoded = decode_payload(cursor)
    legacy = {"pk", "sk", "listing", "created"}
    if isinstance(decoded, dict) and set(decoded) == legacy:
        if decoded["listing"] != LEGACY_PARTITION or decoded["sk"] != "IMAGE":
            decoded = {}
        else:
            decoded = {"created": decoded["created"], "pk": decoded["pk"]}
    if (
        not isinstance(decoded, dict)
        or set(decoded) != {"created", "pk"}
        or not all(isinstance(value, str) for value in decoded.values())
        or not IMAGE_PK.fullmatch(decoded["pk"])
        or not CREATED.fullmatch(decoded["created"])
    ):
        raise foreign_cursor()
    return (decoded["created"], decoded["pk"])
