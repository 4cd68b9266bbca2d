"""Builders for the exact envelopes AWS sends (SQS records, SNS envelopes, S3 notifications, HTTP API 2.0),
and for the image records the tests start from."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
import uuid
from typing import Any

from lib.domain.model import PENDING, PUBLIC_OWNER, ImageRecord, new_image_id, utc_now

REGION = "us-east-1"
ACCOUNT = "123456789012"


def s3_notification(
    bucket: str, key: str, *, version_id: str | None = None, size: int = 1234, encode_slash: bool = False
) -> str:
    """An S3 ObjectCreated notification; `encode_slash` mimics moto, which writes '/' as %2F."""
    quoted = urllib.parse.quote_plus(key, safe="" if encode_slash else "/")
    obj: dict[str, Any] = {"key": quoted, "size": size, "eTag": "0" * 32, "sequencer": "0055AED6DCD90281E5"}
    if version_id:
        obj["versionId"] = version_id
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": "2026-11-26T12:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:EXAMPLE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "uploads",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "EXAMPLE"},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        "object": obj,
                    },
                }
            ]
        }
    )


def s3_test_event(bucket: str) -> str:
    return json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-26T12:00:00.000Z", "Bucket": bucket}
    )


def sns_envelope(message: str, topic_arn: str = f"arn:aws:sns:{REGION}:{ACCOUNT}:topic") -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": "2026-11-26T12:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.example/cert.pem",
            "UnsubscribeURL": "https://sns.example/unsubscribe",
        }
    )


def sqs_record(
    body: str, *, receive_count: int = 1, queue: str = "queue", receipt_handle: str | None = None
) -> dict[str, Any]:
    now = str(int(time.time() * 1000))
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": receipt_handle or base64.b64encode(uuid.uuid4().bytes).decode(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now,
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }


def lambda_record(message: dict[str, Any], source_arn: str) -> dict[str, Any]:
    """A message as SQS's ReceiveMessage gave it (with AttributeNames=All), as Lambda hands it over."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    path_parameters: dict[str, str] | None = None,
    route_key: str | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event. Non-text bodies are base64, as API Gateway sends them.

    `claims` are what a JWT authorizer verified: API Gateway puts them in the request context."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "test",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": "26/Nov/2026:12:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        content_type = headers.get("content-type", "")
        if isinstance(body, bytes) and not content_type.startswith(("text/", "application/json")):
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body.decode() if isinstance(body, bytes) else body
    return event


class LambdaContext:
    """The attributes powertools reads from Lambda's context object."""

    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def image_record(image_id: str | None = None, *, created: str | None = None, **fields: Any) -> ImageRecord:
    """A PENDING image record of a small JPEG under its image key; `fields` replace any value."""
    image_id = image_id or new_image_id()
    now = created or utc_now()
    defaults: dict[str, Any] = {
        "image_id": image_id,
        "name": "cat.jpg",
        "status": PENDING,
        "created": now,
        "updated": now,
        "bucket": "b",
        "key": f"images/{image_id}.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 3,
        "width": 1,
        "height": 1,
        "owner": PUBLIC_OWNER,
    }
    return ImageRecord(**{**defaults, **fields})


def items_before_owners(record: ImageRecord, labels: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
    """A DONE image's item and its label items as written before owners existed (typed, for
    PutItem): no `owner`, `listing=IMAGE#<shard>` and `label=<label>`, in no owner's partition."""
    image = {
        "pk": {"S": f"IMAGE#{record.image_id}"},
        "sk": {"S": "IMAGE"},
        "listing": {"S": f"IMAGE#{int(record.image_id[:8], 16) % 8}"},
        "image_id": {"S": record.image_id},
        "name": {"S": record.name},
        "status": {"S": "DONE"},
        "created": {"S": record.created},
        "updated": {"S": record.updated},
        "bucket": {"S": record.bucket},
        "key": {"S": record.key},
        "content_type": {"S": record.content_type},
        "size_bytes": {"N": str(record.size_bytes)},
        "width": {"N": str(record.width)},
        "height": {"N": str(record.height)},
        "source_url": {"S": ""},
        "labels": {"S": json.dumps([{"name": n, "confidence": 90.0} for n in labels])},
        "details": {"S": "{}"},
        "failure": {"S": ""},
        "upload_etag": {"S": ""},
    }
    label_items = [
        {
            "pk": image["pk"],
            "sk": {"S": f"LABEL#{label.lower()}"},
            "label": {"S": label.lower()},
            "created": image["created"],
            "image_id": image["image_id"],
        }
        for label in labels
    ]
    return [image, *label_items]
