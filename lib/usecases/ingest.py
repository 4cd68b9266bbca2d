"""Accepting an image: fetch or receive it, check it, store it, record it as PENDING.

Every check runs before anything is written, so bad input leaves nothing behind. The record is
written before the object: the object's S3 event is what starts recognition, and it must find the
record. If the object cannot be stored, the record is removed again.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from lib.domain.content import content_sha256
from lib.domain.errors import DomainError
from lib.domain.image_checks import ImageLimits, inspect_image
from lib.domain.keys import key_for
from lib.domain.model import PENDING, ImageRecord, new_image_id, utc_now
from lib.domain.names import clean_name
from lib.ports import Fetcher, ImageBytes, PendingImages

logger = Logger(child=True)


@dataclass(frozen=True)
class IngestService:
    fetcher: Fetcher
    store: ImageBytes
    repository: PendingImages
    limits: ImageLimits

    def ingest_url(self, url: str, name: str | None, owner: str) -> ImageRecord:
        name = clean_name(name)  # checked before the fetch: a bad name costs no outbound request
        started = time.perf_counter()
        fetched = self.fetcher.fetch(url)
        fetch_ms = round((time.perf_counter() - started) * 1000, 1)
        return self._store(fetched.content, name, owner, source_url=without_credentials(url), fetch_ms=fetch_ms)

    def ingest_bytes(self, data: bytes, name: str | None, owner: str) -> ImageRecord:
        return self._store(data, clean_name(name), owner, source_url=None)

    def _store(self, data: bytes, name: str, owner: str, source_url: str | None, fetch_ms: float = 0.0) -> ImageRecord:
        started = time.perf_counter()
        info = inspect_image(data, self.limits)
        image_id = new_image_id()
        logger.append_keys(image_id=image_id)
        now = utc_now()
        record = ImageRecord(
            image_id=image_id,
            name=name,
            status=PENDING,
            created=now,
            updated=now,
            bucket=self.store.bucket,
            key=key_for(image_id, info.content_type),
            content_type=info.content_type,
            size_bytes=len(data),
            width=info.width,
            height=info.height,
            source_url=source_url,
            owner=owner,
            content_sha256=content_sha256(data),
        )
        self.repository.create_pending(record)
        try:
            self.store.put(record.key, data, info.content_type, metadata={"image-id": image_id})
        except DomainError:
            self.repository.delete(image_id)
            raise
        logger.info(
            "image accepted",
            extra={
                "size_bytes": len(data),
                "content_type": info.content_type,
                "source": "url" if source_url else "upload",
                # Stage timings, which the benchmark reads back from the logs.
                "fetch_ms": fetch_ms,
                "store_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return record


def without_credentials(url: str) -> str:
    """The URL as kept and echoed: no userinfo, query or fragment, which may carry tokens."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, parts.path, "", ""))
