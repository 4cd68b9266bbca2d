"""The names this system gives things: object keys, table keys and file extensions.

Keys come from generated ids only, never from user input. Each name is spelled here once, so the
adapters that write them and the use cases that read them back can never disagree.
"""

from __future__ import annotations

from lib.domain.model import is_image_id

KEY_PREFIX = "images/"
# Where presigned POSTs put objects. Only recognition moves them on to KEY_PREFIX, after checking
# them, so a second object sent with the same presigned POST can never replace an accepted image.
UPLOAD_PREFIX = "uploads/"

# The image table's partition keys: an image's own item, and (with a shard number) the listing's.
IMAGE_PREFIX = "IMAGE#"

# The image types accepted, and the extension their objects are stored under.
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
CONTENT_TYPES = tuple(EXTENSIONS)


def key_for(image_id: str, content_type: str) -> str:
    return f"{KEY_PREFIX}{image_id}.{EXTENSIONS[content_type]}"


def upload_key_for(image_id: str, content_type: str) -> str:
    return f"{UPLOAD_PREFIX}{image_id}.{EXTENSIONS[content_type]}"


def image_id_from_key(key: str, prefix: str = KEY_PREFIX) -> str | None:
    """The id an object key was made from, or None for an object this system did not write."""
    if not key.startswith(prefix):
        return None
    stem = key[len(prefix) :].rsplit(".", 1)[0]
    return stem if is_image_id(stem) else None


def is_upload_key(key: str) -> bool:
    return key.startswith(UPLOAD_PREFIX)


def image_pk(image_id: str) -> str:
    return f"{IMAGE_PREFIX}{image_id}"
