"""After a chaos run has drained: what became of every accepted image.

An accepted image counts as lost unless all of this holds: exactly one record, in a final state
(DONE, or FAILED with a reason); its object in S3; and its completion event, of the type its status
calls for, either acknowledged by the receiver (2xx) or in the integration dead-letter queue.
Duplicates are records beyond the first for one upload, and records no upload accounts for.
Orphans are objects without a record. Stray label items are those that disagree with their image's
record (a label it does not have, or no record at all): the label index would list the image wrongly.
A webhook-id is stable when every attempt for an image, failed ones included, carried the same one.
With subscribed endpoints, each must also get every final image's event once (local/chaos/endpoints.py),
counted per endpoint: their losses and duplicates count in `lost` and `duplicates` too.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.domain.events import FAILED as EVENT_FAILED
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.domain.keys import image_id_from_key
from lib.domain.model import normalize_label
from local.chaos.endpoint_accounts import EndpointFigures
from local.chaos.endpoints import Receiver, audit_endpoints
from local.chaos.load import Accepted
from local.chaos.queues import dead_letter_bodies
from local.sidecars.inbox import Delivery
from local.stack import LocalSystem

EVENT_TYPE_FOR = {"DONE": RECOGNIZED, "FAILED": EVENT_FAILED}


@dataclass(frozen=True)
class Figures:
    accepted: int
    done: int
    failed: int
    delivered: int
    in_dlq: int
    lost: int
    duplicates: int
    orphaned_objects: int
    stray_label_items: int
    unstable_webhook_ids: int
    uploads_dlq: int
    endpoints: EndpointFigures | None = None

    @property
    def clean(self) -> bool:
        leftovers = self.orphaned_objects + self.stray_label_items + self.unstable_webhook_ids
        return self.lost == 0 and self.duplicates == 0 and leftovers == 0

    def line(self) -> str:
        return (
            f"chaos: accepted={self.accepted} done={self.done} failed={self.failed} delivered={self.delivered} "
            f"in_dlq={self.in_dlq} lost={self.lost} duplicates={self.duplicates}"
        )


def audit(
    stack: LocalSystem,
    accepted: Mapping[str, Accepted],
    deliveries: Iterable[Delivery],
    subscribed: Mapping[str, Receiver] | None = None,
    log_path: Path | None = None,
) -> Figures:
    records, label_items = _items(stack)
    keys = _object_keys(stack)
    dead_events = [
        CompletionEvent.from_message(body) for body in dead_letter_bodies(stack, "IntegrationDeadLetterQueue")
    ]
    dead_lettered: dict[str, set[str]] = defaultdict(set)
    for event in dead_events:
        dead_lettered[event.image_id].add(event.type)
    attempts = _attempts_by_image(deliveries)

    by_name = Counter(record["name"] for record in records.values())
    expected_names = {image.name for image in accepted.values()}
    duplicates = sum(count - 1 for count in by_name.values()) + sum(
        1 for record in records.values() if record["name"] not in expected_names
    )

    done = failed = delivered = in_dlq = lost = 0
    announced: dict[str, str] = {}
    for image_id, image in accepted.items():
        record = records.get(image_id)
        status = record["status"] if record else None
        final = status == "DONE" or (status == "FAILED" and bool(record and record.get("failure")))
        if not final or image.key not in keys:
            lost += 1
            continue
        done += status == "DONE"
        failed += status == "FAILED"
        wanted = EVENT_TYPE_FOR[status]
        announced[f"msg_{image_id}"] = wanted
        if any(d.event_type == wanted and 200 <= d.status < 300 for d in attempts.get(image_id, ())):
            delivered += 1
        elif wanted in dead_lettered.get(image_id, set()):
            in_dlq += 1
        else:
            lost += 1

    upstream = {event.id: event.owner for event in dead_events}
    endpoints = audit_endpoints(stack, announced, subscribed, log_path, upstream) if subscribed else None
    if endpoints is not None:
        lost += endpoints.lost
        duplicates += endpoints.duplicates
    return Figures(
        endpoints=endpoints,
        accepted=len(accepted),
        done=done,
        failed=failed,
        delivered=delivered,
        in_dlq=in_dlq,
        lost=lost,
        duplicates=duplicates,
        orphaned_objects=sum(1 for key in keys if image_id_from_key(key) not in records),
        stray_label_items=sum(
            1 for image_id, label in label_items if image_id not in records or label not in records[image_id]["labels"]
        ),
        unstable_webhook_ids=sum(1 for tries in attempts.values() if len({d.webhook_id for d in tries}) != 1),
        uploads_dlq=_depth(stack, "UploadsDeadLetterQueue"),
    )


def _items(stack: LocalSystem) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """The image records by id, and every label item as (image id, label)."""
    dynamodb = stack.session().client("dynamodb")
    records: dict[str, dict[str, Any]] = {}
    label_items: list[tuple[str, str]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=stack.physical("ImagesTable")):
        for item in page["Items"]:
            if item["sk"]["S"] != "IMAGE":
                # The label as its item's sort key names it: the indexed `label` is its owner's partition.
                if item["sk"]["S"].startswith("LABEL#"):
                    label_items.append((item["image_id"]["S"], item["sk"]["S"].removeprefix("LABEL#")))
                continue  # a label item, or a content entry or an upload slot: neither is an image
            records[item["image_id"]["S"]] = {
                "name": item["name"]["S"],
                "status": item["status"]["S"],
                "failure": item.get("failure", {}).get("S", ""),
                "labels": {normalize_label(label["name"]) for label in json.loads(item["labels"]["S"] or "[]")},
            }
    return records, label_items


def _object_keys(stack: LocalSystem) -> set[str]:
    s3 = stack.session().client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.physical("ImagesBucket"))
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def _attempts_by_image(deliveries: Iterable[Delivery]) -> dict[str, list[Delivery]]:
    attempts: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.verified and isinstance(delivery.body, dict):
            image_id = (delivery.body.get("data") or {}).get("image_id")
            if image_id:
                attempts[image_id].append(delivery)
    return attempts


def _depth(stack: LocalSystem, logical_id: str) -> int:
    attributes = (
        stack.session()
        .client("sqs")
        .get_queue_attributes(QueueUrl=stack.physical(logical_id), AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]
    )
    return int(attributes["ApproximateNumberOfMessages"])
