"""S3 adapter for image bytes. Keys come from generated ids only, never from user input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.clients import client
from lib.errors import TransientError
from lib.model import is_image_id

KEY_PREFIX = "images/"


def key_for(image_id: str, extension: str) -> str:
    return f"{KEY_PREFIX}{image_id}.{extension}"


def image_id_from_key(key: str) -> str | None:
    """The id an object key was made from, or None for an object this system did not write."""
    if not key.startswith(KEY_PREFIX):
        return None
    stem = key[len(KEY_PREFIX) :].rsplit(".", 1)[0]
    return stem if is_image_id(stem) else None


class ImageStore:
    def __init__(self, bucket: str, s3: Callable[[], Any] = lambda: client("s3")):
        self.bucket = bucket
        self._s3 = s3

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata)
        except (ClientError, BotoCoreError) as e:
            raise TransientError(f"could not store the image: {e}") from e
