"""Read an image named by an S3Object from S3 (in the local stack: the emulator).

The S3 client is created on first use, not at import, and recreated when the endpoint or region
in the environment changes: boto3 itself reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`.

Rekognition reads the object with the caller's permissions. When the stack enforces IAM, every read
is signed with the credentials of the caller the request came from (callers.py identified it, or
refused it), so the layer in front of the emulator checks that caller's `s3:GetObject` or
`s3:GetObjectVersion`: the service never reads on a caller's behalf with its own credentials.
Without enforcement, the service's own credentials are used.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import Iterator
from typing import Any

from .callers import CALLERS_VARIABLE, Caller
from .errors import image_too_large, invalid_s3_object

_DEFAULT_REGION = "us-east-1"
_ENVIRONMENT_KEYS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION")
_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


@contextlib.contextmanager
def as_caller(caller: Caller | None) -> Iterator[None]:
    """Reads inside this block are signed as `caller` (None: IAM is not enforced, as the service)."""
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


def _caller_credentials() -> dict[str, str | None]:
    caller = _caller.get()
    if caller is None:
        if os.environ.get(CALLERS_VARIABLE) is not None:
            # Enforced: a read is always some identified caller's, never the service's own.
            raise RuntimeError("an S3 read outside as_caller() while the local stack enforces IAM")
        return {}
    return {
        "aws_access_key_id": caller.access_key,
        "aws_secret_access_key": caller.secret_key,
        "aws_session_token": None,
    }


@functools.cache
def _session() -> Any:
    """One boto3 session for every caller's client: it parses S3's service model once, and each
    client is then built in a few ms. The credentials go to each client, never to the session."""
    import boto3

    return boto3.session.Session()


def warm() -> None:
    """Parses S3's model now, so that the first read does not: the session keeps it for every client.
    The client itself reads nothing, and has no credentials of its own."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or _DEFAULT_REGION
    _session().client("s3", region_name=region)


def s3_client() -> Any:
    credentials = _caller_credentials()
    key = (*(os.environ.get(name, "") for name in _ENVIRONMENT_KEYS), credentials.get("aws_access_key_id", ""))
    with _lock:
        client = _clients.get(key)
        if client is None:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or _DEFAULT_REGION
            client = _session().client("s3", region_name=region, **credentials)
            if key[:-1] != next(iter(_clients), key)[:-1]:
                _clients.clear()  # the endpoint moved: every cached client is stale
            _clients[key] = client
        return client


def read_s3_object(bucket: str, name: str, version: str | None, max_bytes: int) -> bytes:
    """The object's bytes. Missing or unreadable objects raise InvalidS3ObjectException and
    objects over `max_bytes` raise ImageTooLargeException, as Rekognition does."""
    from botocore.exceptions import BotoCoreError, ClientError

    arguments = {"Bucket": bucket, "Key": name}
    if version:
        arguments["VersionId"] = version
    try:
        response = s3_client().get_object(**arguments)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise invalid_s3_object(
            f"Unable to get object metadata from S3. Check object key, region and/or access permissions. ({code})"
        ) from None
    except BotoCoreError as error:
        raise invalid_s3_object(f"Unable to read the object from S3: {error}") from None
    body = response["Body"]
    try:
        if int(response.get("ContentLength", 0)) > max_bytes:
            raise image_too_large(f"Image size is too large: S3 objects may be at most {max_bytes} bytes")
        data = body.read(max_bytes + 1)
    except BotoCoreError as error:
        raise invalid_s3_object(f"Unable to read the object from S3: {error}") from None
    finally:
        body.close()
    if len(data) > max_bytes:
        raise image_too_large(f"Image size is too large: S3 objects may be at most {max_bytes} bytes")
    return data
