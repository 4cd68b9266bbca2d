"""AWS's size limits on messages and items, checked before the emulator sees a request.

moto caps SNS messages at 256 KiB and DynamoDB items at about 405,000 bytes, but lets SQS messages
reach 1 MiB. AWS has since raised SQS's own cap to 1 MiB as well, but the messages of this system
reach their queues through SNS, whose cap is 256 KiB: a message that fits 256 KiB fits both, so
that is the limit enforced here for both services.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MESSAGE_LIMIT_BYTES = 262_144
ITEM_LIMIT_BYTES = 409_600


@dataclass(frozen=True)
class LimitExceeded:
    code: str
    message: str


def check(service: str, operation: str, body: Mapping[str, Any]) -> LimitExceeded | None:
    if service == "sqs" and operation in ("SendMessage", "SendMessageBatch"):
        for size in _sqs_message_sizes(operation, body):
            if size > MESSAGE_LIMIT_BYTES:
                reason = f"Message must be shorter than {MESSAGE_LIMIT_BYTES} bytes."
                return LimitExceeded("InvalidParameterValue", f"One or more parameters are invalid. Reason: {reason}")
    if service == "sns" and operation in ("Publish", "PublishBatch"):
        if _sns_message_size(body) > MESSAGE_LIMIT_BYTES:
            return LimitExceeded("InvalidParameter", "Invalid parameter: Message too long")
    if service == "dynamodb":
        for item in _dynamodb_items(operation, body):
            if item_size(item) > ITEM_LIMIT_BYTES:
                return LimitExceeded("ValidationException", "Item size has exceeded the maximum allowed size")
    return None


def _sqs_message_sizes(operation: str, body: Mapping[str, Any]) -> Iterable[int]:
    if operation == "SendMessage":
        entries: list[Mapping[str, Any]] = [body]
    else:
        entries = list(body.get("Entries") or [])
        # The query protocol flattens entries into SendMessageBatchRequestEntry.N.MessageBody.
        entries += [{"MessageBody": v} for k, v in body.items() if k.endswith(".MessageBody")]
    for entry in entries:
        size = _utf8(entry.get("MessageBody"))
        for name, attribute in (entry.get("MessageAttributes") or {}).items():
            size += _utf8(name) + _utf8(attribute.get("DataType")) + _attribute_value_size(attribute)
        yield size


def _sns_message_size(body: Mapping[str, Any]) -> int:
    size = _utf8(body.get("Message"))
    size += sum(_utf8(v) for k, v in body.items() if k.startswith("MessageAttributes."))
    return size


def _attribute_value_size(attribute: Mapping[str, Any]) -> int:
    if "StringValue" in attribute:
        return _utf8(attribute["StringValue"])
    if "BinaryValue" in attribute:
        return len(base64.b64decode(attribute["BinaryValue"]))
    return 0


def _dynamodb_items(operation: str, body: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    if operation == "PutItem":
        yield body.get("Item") or {}
    elif operation == "BatchWriteItem":
        for requests in (body.get("RequestItems") or {}).values():
            for request in requests:
                yield (request.get("PutRequest") or {}).get("Item") or {}
    elif operation == "TransactWriteItems":
        for item in body.get("TransactItems") or []:
            yield (item.get("Put") or {}).get("Item") or {}


def item_size(item: Mapping[str, Any]) -> int:
    """A DynamoDB item's size as AWS counts it: attribute names plus values, in bytes."""
    return sum(_utf8(name) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return _utf8(data)
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: member}) for member in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(member) for member in data)
    if kind == "M":
        return 3 + sum(1 + _utf8(name) + _value_size(member) for name, member in data.items())
    return 0


def _utf8(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0
