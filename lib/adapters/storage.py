"""S3 adapter for image bytes, under the keys lib/domain/keys.py names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client, s3_signer
from lib.domain.errors import NotFound, TransientError
from lib.ports import PresignedPost


class DeleteFailed(TransientError):
    """S3 answered a DeleteObjects with errors for some keys: the delete is to be tried again."""


def _gone(code: str, error: Any) -> NotFound:
    return NotFound(f"the object is gone or was replaced ({code})")


# A read that finds the object gone or replaced is an answer (None), not a failure.
_GONE = dict.fromkeys(("NoSuchKey", "404", "PreconditionFailed", "412"), _gone)


def _failed(action: str, codes: Mapping[str, Callable[[str, Any], NotFound]] | None = None) -> Translation:
    return Translation(lambda code, e: f"could not {action}: {e}", codes=codes or {})


_PUT = _failed("store the image")
_GET = _failed("read the object", codes=_GONE)
_DELETE = _failed("delete the object")
_DELETE_VERSIONS = _failed("delete the object's versions")
# DeleteObjects takes at most this many keys.
DELETE_BATCH = 1000


class ImageStore:
    def __init__(
        self, bucket: str, s3: Callable[[], Any] = lambda: client("s3"), signer: Callable[[], Any] = s3_signer
    ):
        self.bucket = bucket
        self._s3 = s3
        self._signer = signer

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        call_aws(
            lambda: self._s3().put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata
            ),
            _PUT,
        )

    def get(self, key: str, etag: str | None = None) -> tuple[bytes, str] | None:
        """The object's bytes and ETag; None when it is gone or, given `etag`, has been replaced."""
        arguments = {"Bucket": self.bucket, "Key": key}
        if etag:
            arguments["IfMatch"] = f'"{etag.strip(chr(34))}"'

        def read() -> tuple[bytes, str]:
            response = self._s3().get_object(**arguments)
            return response["Body"].read(), response["ETag"].strip('"')

        try:
            return call_aws(read, _GET)
        except NotFound:
            return None

    def delete(self, key: str) -> None:
        call_aws(lambda: self._s3().delete_object(Bucket=self.bucket, Key=key), _DELETE)

    def delete_every_version(self, prefix: str) -> int:
        """Remove for good every object under `prefix`: each version and delete marker where the
        bucket keeps versions, the object itself where it does not (its one version, "null").
        Returns how many were removed."""
        s3 = self._s3()

        def versions() -> list[dict[str, str]]:
            found: list[dict[str, str]] = []
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    found.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
            return found

        def delete(batch: list[dict[str, str]]) -> None:
            response = s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                error = response["Errors"][0]
                raise DeleteFailed(f"{error.get('Code')}: {error.get('Message')} ({len(response['Errors'])} keys)")

        found = call_aws(versions, _DELETE_VERSIONS)
        for start in range(0, len(found), DELETE_BATCH):
            call_aws(lambda batch=found[start : start + DELETE_BATCH]: delete(batch), _DELETE_VERSIONS)
        return len(found)

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A browser-ready POST that can create this one key, with this content type, of 1 to max_bytes bytes."""
        post = self._signer().generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields=post["fields"])

    def presign_get(self, key: str, expires_in: int) -> str:
        return self._signer().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
