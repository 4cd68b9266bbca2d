"""The owner's newest-first listings, spread over shards so that no single partition caps throughput.

Both indexes of the image table are partitioned by owner: an owner's images are listed by
`by-created` under its listing partitions, and its images with a label by `by-label` under that
label's partitions. Nothing lists across owners, so every read is a Query inside one owner.

Within an owner, one partition takes about 1,000 writes a second, so a large owner's upload burst
would be throttled there before anything else (docs/scaling.md). So each image goes to one of SHARDS
partitions, chosen from its id, and a page is the merge of the newest items of every shard:

    listing  OWNER#<owner>#IMAGE#<shard>
    label    OWNER#<owner>#LABEL#<shard>#<normalized label>

Items written before owners existed carry `IMAGE#<shard>`, `IMAGE` or the bare label name: no
owner's partition, so they list for nobody until `make migrate-owners` assigns them one.

A page's order is (created, pk) descending, and its cursor is the position of its last item, bound
to the listing it came from (owner and label). The next page asks each shard for items strictly
after that position, so a page never repeats or skips an item, whichever shards the items are in;
a cursor replayed by another owner, or for another label, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from lib.domain.errors import InvalidRequest
from lib.domain.keys import IMAGE_PREFIX

SHARDS = 8

# The shapes a cursor's keys must have: anything else would make DynamoDB itself refuse the query.
IMAGE_PK = re.compile(re.escape(IMAGE_PREFIX) + r"[0-9a-f]{32}")
CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SCOPE = re.compile(r"[0-9a-f]{32}")


def shard_of(image_id: str) -> int:
    """The shard of an image: stable, and even over random ids."""
    return int(image_id[:8], 16) % SHARDS


def owner_key(owner: str) -> str:
    """The owner as it prefixes its partitions. A '#' in an owner is escaped, so that no owner's
    partition can ever spell another owner's (Cognito subjects are UUIDs, but nothing relies on it)."""
    if not owner:
        raise ValueError("an image without an owner is in no owner's listing")
    return "OWNER#" + urllib.parse.quote(owner, safe="@.-_:+")


def listing_partition(owner: str, image_id: str) -> str:
    return f"{owner_key(owner)}#IMAGE#{shard_of(image_id)}"


def listing_partitions(owner: str) -> tuple[str, ...]:
    return tuple(f"{owner_key(owner)}#IMAGE#{shard}" for shard in range(SHARDS))


def label_partition(owner: str, image_id: str, label: str) -> str:
    return f"{owner_key(owner)}#LABEL#{shard_of(image_id)}#{label}"


def label_partitions(owner: str, label: str) -> tuple[str, ...]:
    return tuple(f"{owner_key(owner)}#LABEL#{shard}#{label}" for shard in range(SHARDS))


Position = tuple[str, str]  # (created, pk)


def position(item: dict[str, Any]) -> Position:
    return (item["created"], item["pk"])


def newest_first(pages: Iterable[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """The `limit` newest items of the shards' pages, each page itself newest first."""
    merged = sorted((item for page in pages for item in page), key=position, reverse=True)
    return merged[:limit]


# --- cursors: opaque to clients, but checked on the way back in --------------------------------------
def scope_of(partitions: tuple[str, ...]) -> str:
    """What a cursor is bound to: a digest of the listing's partitions (so of its owner and label).
    A digest, so that a cursor does not spell out its owner's subject."""
    return hashlib.sha256("\n".join(partitions).encode()).hexdigest()[:32]


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


def encode_cursor(last: Position, scope: str) -> str:
    return encode_payload({"created": last[0], "pk": last[1], "scope": scope})


def decode_cursor(cursor: str, scope: str) -> Position:
    """The position a cursor names, if it was issued for this listing (`scope`)."""
    decoded = decode_payload(cursor)
    if (
        not isinstance(decoded, dict)
        or set(decoded) != {"created", "pk", "scope"}
        or not all(isinstance(value, str) for value in decoded.values())
        or not IMAGE_PK.fullmatch(decoded["pk"])
        or not CREATED.fullmatch(decoded["created"])
        or not SCOPE.fullmatch(decoded["scope"])
        or decoded["scope"] != scope
    ):
        raise foreign_cursor()
    return (decoded["created"], decoded["pk"])
