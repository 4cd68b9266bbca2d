"""Identical bytes, recognized once per owner: the content hash and the key its result is found by.

A result depends on the bytes, on what was asked of Rekognition (features, label count, confidence
cut) and on the model that answered. So the key names the owner, the SHA-256 of the stored bytes,
those settings and a model version: change any of them and the earlier result is not reused.
Owners never share a key, so one owner's upload can never be answered with another owner's result.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Where the content entries live in the image table: beside images, under a prefix of their own, so
# no image or label query can ever return one (they carry neither `listing` nor `label`).
CONTENT_PREFIX = "HASH#"
RESULT_PREFIX = "RESULT#"
# A model version is written into keys: a `#` in it would let two keys run into each other.
MODEL_VERSION = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RecognitionSettings:
    """What a result was asked with, beyond the bytes: any change makes earlier results stale."""

    features: frozenset[str]
    max_labels: int
    min_confidence: int
    model_version: str

    def __post_init__(self) -> None:
        if not MODEL_VERSION.fullmatch(self.model_version):
            raise ValueError(f"a model version is 1 to 64 of A-Z a-z 0-9 . _ : -, got {self.model_version!r}")

    @property
    def name(self) -> str:
        """`labels,properties;max=20;min=55#<model version>`: the same settings, the same name."""
        features = ",".join(sorted(self.features))
        return f"{features};max={self.max_labels};min={self.min_confidence}#{self.model_version}"


@dataclass(frozen=True)
class ContentKey:
    owner: str
    sha256: str
    settings: RecognitionSettings

    @property
    def partition(self) -> str:
        """Every result of one owner's bytes, whatever the settings: what a delete forgets at once."""
        return content_partition(self.owner, self.sha256)

    @property
    def sort(self) -> str:
        return f"{RESULT_PREFIX}{self.settings.name}"


def content_partition(owner: str, sha256: str) -> str:
    # The hash is fixed-width hex and the owner comes first: no two (owner, hash) pairs share a name.
    return f"{CONTENT_PREFIX}{owner}#{sha256}"
