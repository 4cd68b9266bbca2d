"""Read an image named by an S3Object from S3 (in the local stack: the emulator).

The S3 client is created on first use, not at import, and recreated when the endpoint or region
in the environment changes: boto3 itself reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`.

Rekognition reads the object with the caller's permissions, so the read is signed with the
caller's credentials when the stack gave this service their secrets (`LOCAL_CALLER_SECRETS`, a JSON
object of access key to secret key); the layer in front of the emulator then checks the caller's
`s3:GetObject`. Without them, the service's own credentials are used.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

from .errors import image_too_large, invalid_s3_object

_DEFAULT_REGION = "us-east-1"
_ENVIRONMENT_KEYS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION")
_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller_access_key", default="")
_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


@contextlib.contextmanager
def as_caller(authorization: str | None) -> Iterator[None]:
    """Reads inside this block are signed as the caller whose Authorization header is given."""
    match = _ACCESS_KEY.search(authorization or "")
    token = _caller.set(match.group(1) if match else "")
    try:
        yield
    finally:
        _caller.reset(token)


def _caller_credentials() -> dict[str, str]:
    access_key = _caller.get()
    secret = json.loads(os.environ.get("LOCAL_CALLER_SECRETS") or "{}").get(access_key) if access_key else None
    if secret is None:
        return {}
    return {"aws_access_key_id": access_key, "aws_secret_access_key": secret, "aws_session_token": None}


@functools.cache
def _session() -> Any:
    """One boto3 session for every caller's client: it parses S3's service model once, and each
    client is then built in a few ms. The credentials go to each client, never to the session."""
    import boto3

    return boto3.session.Session()


def warm() -> None:
    """Builds the service's own client now, so that the first read does not parse S3's model."""
    s3_client()


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
