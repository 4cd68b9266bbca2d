"""What one HTTP request to AWS asks for: its operation, and the (action, resource ARN) pairs IAM checks.

The service comes from the SigV4 credential scope; the operation from `X-Amz-Target` (JSON
protocols), the `Action` parameter (query protocols) or, for S3, the method, path and
sub-resource. Batch operations are checked as AWS checks them: SQS's `...Batch` operations as their
single actions, DynamoDB's BatchWriteItem once per table. A request that cannot be mapped raises
`Unmapped`, and the caller is denied: an unknown operation must never pass unchecked.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree


class Unmapped(Exception):
    """The layer cannot tell which action and resource the request needs; the message names it."""


@dataclass(frozen=True)
class Call:
    service: str  # the signing name: s3, sqs, sns, dynamodb, ssm, ...
    operation: str
    checks: tuple[tuple[str, str], ...]  # (action, resource ARN)
    protocol: str  # json, query or rest-xml: how an error must be written
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    region: str
    account: str


def describe(service: str, request: HttpRequest, kms_aliases: Mapping[str, str] | None = None) -> Call:
    """`kms_aliases` maps each KMS alias name the stack created to its key's ARN: AWS authorizes a
    call made through an alias on the key itself."""
    if service == "s3":
        return _s3(request)
    target = request.headers.get("x-amz-target", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
        body = _json(request.body)
        if service == "kms":
            return Call(service, operation, _kms(operation, body, request, kms_aliases or {}), "json", body)
        return Call(service, operation, _json_checks(service, operation, body, request), "json", body)
    form = _form(request)
    operation = form.get("Action", "")
    if not operation:
        raise Unmapped(f"{service} {request.method} {request.path}: no operation found in the request")
    return Call(service, operation, _query_checks(service, operation, form, request), "query", form)


# --- JSON protocols -----------------------------------------------------------------------------------
def _json_checks(
    service: str, operation: str, body: Mapping[str, Any], request: HttpRequest
) -> tuple[tuple[str, str], ...]:
    if service == "dynamodb":
        return _dynamodb(operation, body, request)
    if service == "sqs":
        return _sqs(operation, body, request)
    if service == "ssm":
        names = body.get("Names") or [body.get("Name")]
        if not all(isinstance(n, str) for n in names):
            raise Unmapped(f"ssm:{operation} names no parameter")
        return tuple((f"ssm:{operation}", _ssm_arn(n, request)) for n in names)
    if service == "rekognition" and operation.startswith("Detect"):
        # Rekognition's Detect* actions support no resource-level permissions.
        return ((f"rekognition:{operation}", "*"),)
    if service == "sts" and operation == "GetCallerIdentity":
        return ()  # AWS allows it whatever the policies say
    raise Unmapped(f"{service}:{operation} is not mapped to an action and resource by the local IAM layer")


def _dynamodb(operation: str, body: Mapping[str, Any], request: HttpRequest) -> tuple[tuple[str, str], ...]:
    def table(name: Any, index: Any = None) -> str:
        if not isinstance(name, str):
            raise Unmapped(f"dynamodb:{operation} names no table")
        arn = f"arn:aws:dynamodb:{request.region}:{request.account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if operation in ("BatchWriteItem", "BatchGetItem"):
        return tuple((f"dynamodb:{operation}", table(name)) for name in body.get("RequestItems") or {})
    if operation in ("TransactWriteItems", "TransactGetItems"):
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
        }
        checks = []
        for item in body.get("TransactItems") or []:
            for kind, spec in item.items():
                action = "GetItem" if kind == "Get" else kinds.get(kind)
                if action is None:
                    raise Unmapped(f"dynamodb:{operation} with a {kind} item")
                checks.append((f"dynamodb:{action}", table(spec.get("TableName"))))
        return tuple(checks)
    if operation in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
        return ((f"dynamodb:{operation}", "*"),)
    return ((f"dynamodb:{operation}", table(body.get("TableName"), body.get("IndexName"))),)


def _sqs(operation: str, body: Mapping[str, Any], request: HttpRequest) -> tuple[tuple[str, str], ...]:
    action = f"sqs:{operation.removesuffix('Batch')}"
    url = body.get("QueueUrl")
    if isinstance(url, str) and url:
        account, name = urllib.parse.urlsplit(url).path.strip("/").split("/")[-2:]
        return ((action, f"arn:aws:sqs:{request.region}:{account}:{name}"),)
    name = body.get("QueueName")
    if isinstance(name, str) and name:
        account = body.get("QueueOwnerAWSAccountId") or request.account
        return ((action, f"arn:aws:sqs:{request.region}:{account}:{name}"),)
    if operation == "ListQueues":
        return ((action, "*"),)
    raise Unmapped(f"sqs:{operation} names no queue")


_KMS_KEY_OPERATIONS = frozenset({"Encrypt", "Decrypt", "GenerateDataKey"})


def _kms(
    operation: str, body: Mapping[str, Any], request: HttpRequest, aliases: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """The key a call uses, as its ARN. A Decrypt must name its key (KeyId): AWS reads the key from
    the ciphertext, which this layer does not, so a Decrypt without one cannot be authorized here."""
    if operation not in _KMS_KEY_OPERATIONS:
        raise Unmapped(f"kms:{operation} is not mapped to an action and resource by the local IAM layer")
    key = body.get("KeyId")
    if not isinstance(key, str) or not key:
        raise Unmapped(f"kms:{operation} names no key (KeyId); the local IAM layer authorizes a key it is told")
    prefix = f"arn:aws:kms:{request.region}:{request.account}:"
    if key.startswith("arn:") and ":alias/" in key:
        key = "alias/" + key.split(":alias/", 1)[1]
    if key.startswith("alias/"):
        if key not in aliases:
            raise Unmapped(f"kms:{operation} names the alias {key!r}, which this stack did not create")
        return ((f"kms:{operation}", aliases[key]),)
    return ((f"kms:{operation}", key if key.startswith("arn:") else f"{prefix}key/{key}"),)


def _ssm_arn(name: str, request: HttpRequest) -> str:
    return f"arn:aws:ssm:{request.region}:{request.account}:parameter/{name.lstrip('/')}"


# --- query protocols ----------------------------------------------------------------------------------
def _query_checks(
    service: str, operation: str, form: Mapping[str, str], request: HttpRequest
) -> tuple[tuple[str, str], ...]:
    if service == "sns":
        arn = form.get("TopicArn") or form.get("TargetArn") or form.get("SubscriptionArn")
        if operation == "PublishBatch":
            operation = "Publish"
        if not arn:
            raise Unmapped(f"sns:{operation} names no topic")
        return ((f"sns:{operation}", arn),)
    if service == "sqs":
        return _sqs(operation, form, request)
    if service == "sts" and operation == "GetCallerIdentity":
        return ()
    raise Unmapped(f"{service}:{operation} is not mapped to an action and resource by the local IAM layer")


# --- S3 -------------------------------------------------------------------------------------------------
_S3_KEY_OPERATIONS = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}


def _s3(request: HttpRequest) -> Call:
    bucket, _, key = request.path.lstrip("/").partition("/")
    subresources = set(request.query) - {"versionId", "x-id", "list-type", "prefix", "delimiter", "max-keys"}
    subresources -= {"continuation-token", "start-after", "encoding-type", "fetch-owner", "marker"}
    subresources -= {p for p in request.query if p.lower().startswith(("x-amz-", "response-"))}
    subresources -= {"AWSAccessKeyId", "Signature", "Expires"}  # a SigV2 presigned URL's own parameters
    subresources -= {"key-marker", "version-id-marker"}  # ListObjectVersions' paging
    shown_query = "?" + ",".join(sorted(subresources)) if subresources else ""
    where = f"s3 {request.method} /{bucket}{'/' + key if key else ''}{shown_query}"
    if not bucket:
        raise Unmapped(f"{where}: ListBuckets is not mapped by the local IAM layer")
    object_arn = f"arn:aws:s3:::{bucket}/{key}"
    if key and not subresources:
        operation = _S3_KEY_OPERATIONS.get(request.method)
        if operation is None:
            raise Unmapped(f"{where} is not mapped to an action by the local IAM layer")
        if operation in ("GetObject", "DeleteObject") and "versionId" in request.query:
            # Naming a version needs the version's own action (DeleteObjectVersion removes it for
            # good, where DeleteObject on a versioned bucket only adds a delete marker).
            checks: tuple[tuple[str, str], ...] = ((f"s3:{operation}Version", object_arn),)
        else:
            checks = ((f"s3:{operation}", object_arn),)
        copy_source = request.headers.get("x-amz-copy-source")
        if operation == "PutObject" and copy_source:
            source = urllib.parse.unquote(copy_source.split("?", 1)[0]).lstrip("/")
            operation = "CopyObject"
            checks += (("s3:GetObject", f"arn:aws:s3:::{source}"),)
        return Call("s3", operation, checks, "rest-xml")
    if key and subresources <= {"uploads", "uploadId", "partNumber"}:
        aborting = request.method == "DELETE"
        action = "s3:AbortMultipartUpload" if aborting else "s3:PutObject"
        return Call("s3", "MultipartUpload", ((action, object_arn),), "rest-xml")
    if not key and not subresources and request.method in ("GET", "HEAD"):
        return Call("s3", "ListObjects", (("s3:ListBucket", f"arn:aws:s3:::{bucket}"),), "rest-xml")
    if not key and subresources == {"versions"} and request.method == "GET":
        return Call("s3", "ListObjectVersions", (("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}"),), "rest-xml")
    if not key and subresources == {"delete"} and request.method == "POST":
        # DeleteObjects is no action of its own: AWS checks each key it names as that key's delete.
        checks = tuple(
            ("s3:DeleteObjectVersion" if version else "s3:DeleteObject", f"arn:aws:s3:::{bucket}/{object_key}")
            for object_key, version in _objects_to_delete(_unchunked(request), where)
        )
        return Call("s3", "DeleteObjects", checks, "rest-xml")
    raise Unmapped(f"{where} is not mapped to an action by the local IAM layer")


# --- bodies -------------------------------------------------------------------------------------------
def _unchunked(request: HttpRequest) -> bytes:
    """The payload of an `aws-chunked` body (`<hex size>[;chunk-signature=...]\r\n<data>\r\n`
    chunks, then a zero chunk and trailers), as newer SDKs send it; any other body as it is."""
    encoding = request.headers.get("content-encoding", "")
    streaming = request.headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
    if "aws-chunked" not in encoding and not streaming:
        return request.body
    payload, rest = b"", request.body
    while rest:
        header, _, rest = rest.partition(b"\r\n")
        try:
            size = int(header.split(b";", 1)[0], 16)
        except ValueError:
            return b""
        if size == 0:
            break
        payload, rest = payload + rest[:size], rest[size + 2 :]
    return payload


def _objects_to_delete(body: bytes, where: str) -> list[tuple[str, str | None]]:
    """(key, version id or None) for each <Object> of a DeleteObjects body."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise Unmapped(f"{where}: the body is not a Delete document") from None
    objects = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Object":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
        if not fields.get("Key"):
            raise Unmapped(f"{where}: an Object without a Key")
        objects.append((fields["Key"], fields.get("VersionId") or None))
    if not objects:
        raise Unmapped(f"{where}: a Delete document that names no object")
    return objects


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _form(request: HttpRequest) -> dict[str, str]:
    form = {k: v[0] for k, v in request.query.items() if v}
    if request.body and "json" not in request.headers.get("content-type", ""):
        form.update(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return form
