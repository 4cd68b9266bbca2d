"""One recognition call before the stack says `ready`, so that the first image is served warm.

The local Rekognition service loads its models in the background, and its first inference is
slower still (memory allocated, kernels chosen); the first image would pay for both. Calling each
operation the recognize function will call, once, as recognize names them, moves that cost before
`ready`. The image goes as bytes, so the call needs no bucket and runs while the resources are
still being created; the service builds its S3 client before it says its models are ready.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger("local.aws.warmup")

# lib/config.py's feature names -> the calls lib/adapters/rekognition_client.py makes for them.
_CALLS = {
    "faces": ("detect_faces", {"Attributes": ["DEFAULT"]}),
    "text": ("detect_text", {}),
    "moderation": ("detect_moderation_labels", {}),
}
TRIES = 3  # a service started with a fault rate may fail a call on purpose


def warm_rekognition(rekognition: Any, image: Path, features: Iterable[str]) -> float:
    """Calls each operation the features need; returns the milliseconds it took."""
    return _call_each(rekognition, {"Image": {"Bytes": image.read_bytes()}}, set(features))


def _call_each(rekognition: Any, payload: dict[str, Any], features: set[str]) -> float:
    label_features = ["GENERAL_LABELS"] + (["IMAGE_PROPERTIES"] if "properties" in features else [])
    calls = [("detect_labels", {"Features": label_features})]
    calls += [_CALLS[feature] for feature in sorted(features) if feature in _CALLS]
    started = time.perf_counter()
    for operation, arguments in calls:
        for attempt in range(1, TRIES + 1):
            try:
                getattr(rekognition, operation)(**payload, **arguments)
                break
            except Exception as error:  # warming is best effort: the stack works without it
                if attempt == TRIES:
                    logger.warning("warming Rekognition %s failed: %s", operation, error)
    return (time.perf_counter() - started) * 1000
