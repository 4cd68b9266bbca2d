"""Presigned direct uploads: the way in for images too large to travel through a Lambda invocation.

A Lambda invocation carries at most 6 MB, and a binary body travels in it base64-encoded, so the
HTTP API cannot take an image much over 4.4 MB. Instead, `POST /uploads` hands out a presigned S3
POST for one key under `uploads/`, bound to the promised content type and to 1 byte to
`max_bytes`, valid for five minutes. No function sees the bytes on the way in: recognition checks
them on arrival (lib/usecases/arrivals.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lib.domain.errors import UnsupportedMediaType
from lib.domain.keys import EXTENSIONS, upload_key_for
from lib.domain.model import UploadSlot, new_image_id, utc_now
from lib.domain.names import clean_name
from lib.ports import PostSigner, PresignedPost, UploadSlots

EXPIRES_IN_SECONDS = 300


@dataclass(frozen=True)
class OpenedUpload:
    slot: UploadSlot
    post: PresignedPost


@dataclass(frozen=True)
class DirectUploads:
    store: PostSigner
    repository: UploadSlots
    max_bytes: int

    def open(self, name: str | None, content_type: str, owner: str, now: float | None = None) -> OpenedUpload:
        name = clean_name(name)
        if content_type not in EXTENSIONS:
            raise UnsupportedMediaType("content_type must be image/jpeg or image/png")
        image_id = new_image_id()
        expires_at = int(now if now is not None else time.time()) + EXPIRES_IN_SECONDS
        slot = UploadSlot(image_id, name, content_type, created=utc_now(), expires_at=expires_at, owner=owner)
        # The slot first: an object that arrives must find it.
        self.repository.create_slot(slot)
        post = self.store.presign_post(
            upload_key_for(image_id, content_type), content_type, self.max_bytes, EXPIRES_IN_SECONDS
        )
        return OpenedUpload(slot, post)
