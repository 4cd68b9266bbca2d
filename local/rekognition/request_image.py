"""Turn a request's Image member into decoded pixels, enforcing Rekognition's input rules:
JPEG or PNG only, at most 5 MB as Bytes and 15 MB from S3, and a file that decodes completely."""

from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .errors import image_too_large, invalid_image_format, invalid_parameter
from .s3_source import read_s3_object

MAX_INLINE_BYTES = 5 * 1024 * 1024
MAX_S3_BYTES = 15 * 1024 * 1024
# Beyond this many pixels, decoding alone would take seconds and gigabytes.
MAX_PIXELS = 80_000_000
# Large JPEGs are decoded at a reduced scale down to this many pixels on the longer side.
ANALYSIS_SIDE = 2048

_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


@dataclass
class AnalysisImage:
    """An upright RGB image ready for the models."""

    rgb: Any  # PIL.Image.Image in mode RGB
    source_format: str

    @property
    def width(self) -> int:
        return self.rgb.width

    @property
    def height(self) -> int:
        return self.rgb.height

    @cached_property
    def pixels(self) -> np.ndarray:
        """H x W x 3 uint8, RGB."""
        return np.asarray(self.rgb, dtype=np.uint8)


def image_from_request(image: Any) -> AnalysisImage:
    if not isinstance(image, dict):
        raise invalid_parameter("Image is required and must be an object with Bytes or S3Object")
    has_bytes, has_s3 = "Bytes" in image, "S3Object" in image
    if has_bytes == has_s3:
        raise invalid_parameter("Image must have exactly one of Bytes or S3Object")
    if has_bytes:
        return decode_image(_inline_bytes(image["Bytes"]))
    return decode_image(_s3_bytes(image["S3Object"]))


def _inline_bytes(encoded: Any) -> bytes:
    if not isinstance(encoded, str) or not encoded:
        raise invalid_parameter("Image.Bytes must be a non-empty base64 string")
    if len(encoded) * 3 // 4 > MAX_INLINE_BYTES + 3:
        raise image_too_large(f"Image size is too large: Bytes may be at most {MAX_INLINE_BYTES} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter("Image.Bytes is not valid base64") from None
    if len(data) > MAX_INLINE_BYTES:
        raise image_too_large(f"Image size is too large: Bytes may be at most {MAX_INLINE_BYTES} bytes")
    return data


def _s3_bytes(s3_object: Any) -> bytes:
    if not isinstance(s3_object, dict):
        raise invalid_parameter("Image.S3Object must be an object with Bucket and Name")
    bucket, name, version = s3_object.get("Bucket"), s3_object.get("Name"), s3_object.get("Version")
    if not isinstance(bucket, str) or not 3 <= len(bucket) <= 255:
        raise invalid_parameter("Image.S3Object.Bucket must be a bucket name of 3 to 255 characters")
    if not isinstance(name, str) or not 1 <= len(name) <= 1024:
        raise invalid_parameter("Image.S3Object.Name must be an object key of 1 to 1024 characters")
    if version is not None and (not isinstance(version, str) or not version):
        raise invalid_parameter("Image.S3Object.Version must be a non-empty string")
    return read_s3_object(bucket, name, version, MAX_S3_BYTES)


def detect_format(data: bytes) -> str | None:
    for signature, name in _SIGNATURES.items():
        if data.startswith(signature):
            return name
    return None


def decode_image(data: bytes) -> AnalysisImage:
    """Decode JPEG/PNG bytes fully; anything else, or a damaged file, is InvalidImageFormat."""
    from PIL import Image, ImageOps

    source_format = detect_format(data)
    if source_format is None:
        raise invalid_image_format("Request has invalid image format: only JPEG and PNG are supported")
    try:
        with Image.open(io.BytesIO(data), formats=[source_format]) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise image_too_large(f"Image has too many pixels: at most {MAX_PIXELS} are supported")
            if source_format == "JPEG" and max(opened.size) > 2 * ANALYSIS_SIDE:
                # Every answer is in ratios of the image size, so a big JPEG can be decoded at
                # 1/2, 1/4 or 1/8 scale (still at least ANALYSIS_SIDE) at a fraction of the cost.
                factor = ANALYSIS_SIDE / max(opened.size)
                opened.draft("RGB", (math.ceil(opened.width * factor), math.ceil(opened.height * factor)))
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            rgb = _to_rgb(upright)
    except Image.DecompressionBombError:
        raise image_too_large(f"Image has too many pixels: at most {MAX_PIXELS} are supported") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise invalid_image_format(f"Request has invalid image format: {error}") from None
    if rgb.width < 1 or rgb.height < 1:
        raise invalid_image_format("Request has invalid image format: the image is empty")
    return AnalysisImage(rgb=rgb, source_format=source_format)


def _to_rgb(image: Any) -> Any:
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greyscale: stretch to 8 bits instead of clipping everything to white.
        values = np.asarray(image, dtype=np.float64)
        peak = values.max() or 1.0
        image = Image.fromarray(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8), mode="L")
    return image.convert("RGB") if image.mode != "RGB" else image.copy()
