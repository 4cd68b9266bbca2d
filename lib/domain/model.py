"""The image record: what the API returns and the pipeline moves from PENDING to DONE or FAILED."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# A presigned upload slot whose object has not arrived yet (see lib/usecases/direct_uploads.py).
AWAITING_UPLOAD = "AWAITING_UPLOAD"
PENDING = "PENDING"
DONE = "DONE"
FAILED = "FAILED"
# A deleted image's tombstone (lib/adapters/image_items.py): never shown, kept until its TTL so
# that work in flight for the image cannot bring it back.
DELETED = "DELETED"


def new_image_id() -> str:
    return uuid.uuid4().hex


def is_image_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def utc_now() -> str:
    """ISO 8601 with microseconds and a Z: sorts lexically in time order, which the index relies on."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_at(epoch_seconds: float) -> str:
    """`epoch_seconds` as utc_now() writes the time."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: str) -> float | None:
    """Epoch seconds of a `utc_now()` timestamp; None when it is not one."""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def normalize_label(name: str) -> str:
    """Label filters are case-insensitive: `?label=cat` finds "Cat"."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float
    parents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Where the label was found, for labels of things Rekognition locates (people, cars, ...): each
    # {"confidence", "bounding_box"}, the box in ratios of the image's width and height.
    instances: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "confidence": round(self.confidence, 2),
            "parents": list(self.parents),
            "categories": list(self.categories),
        }
        if self.instances:
            body["instances"] = [dict(instance) for instance in self.instances]
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Label:
        return cls(
            name=data["name"],
            confidence=float(data["confidence"]),
            parents=tuple(data.get("parents", ())),
            categories=tuple(data.get("categories", ())),
            instances=tuple(data.get("instances", ())),
        )


# The owner of every image when auth is off. With auth on, an owner is the verified JWT's `sub`
# (handlers/http.py's owner_of). A record written before owners existed has none ("") and belongs
# to nobody until it is assigned one.
PUBLIC_OWNER = "public"
NO_OWNER = ""


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True)
class ImageRecord:
    image_id: str
    name: str
    status: str
    created: str
    updated: str
    bucket: str
    key: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    source_url: str | None = None
    labels: tuple[Label, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    event_published: bool = False
    # The ETag of the directly uploaded object this image was made from: a second object sent with
    # the same presigned POST has another ETag and is refused.
    upload_etag: str | None = None
    owner: str = NO_OWNER
    # The SHA-256 of the stored bytes, and the image whose result this one copied, if any
    # (lib/usecases/reuse.py): identical bytes of one owner are recognized once.
    content_sha256: str | None = None
    reused_from: str | None = None

    def visible_to(self, owner: str) -> bool:
        """Only its owner sees an image, and nobody sees a deleted one or one that has no owner."""
        return owner != NO_OWNER and self.owner == owner and self.status != DELETED

    def to_api(self) -> dict[str, Any]:
        """The public representation. Storage locations stay internal."""
        body: dict[str, Any] = {
            "image_id": self.image_id,
            "name": self.name,
            "status": self.status,
            "created_at": self.created,
            "updated_at": self.updated,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "source": {"type": "url", "url": self.source_url} if self.source_url else {"type": "upload"},
            "labels": [label.to_dict() for label in self.labels],
            "links": {"self": f"/images/{self.image_id}"},
        }
        if self.details:
            body["details"] = self.details
        if self.failure:
            body["error"] = asdict(self.failure)
        if self.reused_from:
            body["reused_from"] = self.reused_from
        return body


@dataclass(frozen=True)
class UploadSlot:
    """A presigned upload handed out and not yet used: an image id, its name and the promised type.

    It is not an image yet. Nothing lists it, and it expires with its presigned POST: after
    `expires_at` (Unix seconds) it reads as absent, whether or not the table's TTL has removed it.
    """

    image_id: str
    name: str
    content_type: str
    created: str
    expires_at: int
    owner: str = NO_OWNER

    @property
    def expires_at_text(self) -> str:
        return datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_api(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "name": self.name,
            "status": AWAITING_UPLOAD,
            "created_at": self.created,
            "updated_at": self.created,
            "content_type": self.content_type,
            "expires_at": self.expires_at_text,
            "labels": [],
            "links": {"self": f"/images/{self.image_id}"},
        }
