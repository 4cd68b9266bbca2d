"""S3 event notifications from moto with the object's `versionId`, as S3 sends them.

S3 puts `versionId` in a notification's `s3.object` when the bucket is versioned; moto 5.2.5 leaves
it out. Without it the recognize function would ask Rekognition for the latest object rather than
the version that arrived, and a versioned read (`s3:GetObjectVersion`) would never be made locally.
"""

from __future__ import annotations

from typing import Any


def add_version_ids() -> None:
    """Makes moto's S3 notifications carry `versionId` for objects of a versioned bucket. Idempotent."""
    from moto.s3 import notifications

    build = notifications._get_s3_event
    if getattr(build, "adds_version_id", False):
        return

    def event_with_version_id(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = build(event_name, bucket, key, notification_id)
        if bucket.is_versioned and getattr(key, "version_id", None):
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = key.version_id
        return event

    event_with_version_id.adds_version_id = True  # type: ignore[attr-defined]
    notifications._get_s3_event = event_with_version_id
