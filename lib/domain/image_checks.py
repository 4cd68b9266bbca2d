"""Check untrusted bytes are a JPEG or PNG image we can send on, without decoding them (no Pillow in Lambda).

What is checked, and the error for each failure:

* Empty data -> ``InvalidImage``; more than ``max_bytes`` -> ``PayloadTooLarge``.
* The format comes from the magic bytes only; a declared content type or file extension is never
  consulted. Anything but JPEG or PNG -> ``UnsupportedMediaType``, naming the format when it is
  recognizable (GIF, WebP, BMP, TIFF, HEIC/AVIF, SVG, HTML, PDF, ...).
* Dimensions come from the headers: PNG's IHDR chunk (length, type, CRC and field values checked),
  JPEG's first SOFn frame header, found by walking the marker segments up to the first scan by their
  lengths with bounds checks (linear, and capped in segment count). Zero width or height, a side above ``max_dimension``
  or more than ``max_pixels`` in total -> ``InvalidImage`` stating the limit. The pixel limit is what
  stops decompression bombs: a PNG declaring 30000x30000 fits in well under 1 MB.
* Metadata: the JPEG's APPn (EXIF, XMP, ICC) and COM segments in those headers may total at most
  ``max_metadata_bytes``; more -> ``InvalidImage`` stating the limit. PNG chunks are not walked.
* Truncation: a PNG must end with its IEND chunk, a JPEG with its EOI marker (FF D9), optionally
  followed by NUL padding, which some encoders add. Any other trailing data counts as truncated ->
  ``InvalidImage``. The compressed image data itself is not decoded; the recognition service does that.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from lib.domain.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 15 * 1024 * 1024  # the recognition service's limit for images stored in S3
    # 16384 is a common decoder ceiling; 100 MP lets through every current phone camera's full
    # resolution (108 MP modes excepted) while stopping bombs like 30000x30000 (900 MP).
    max_dimension: int = 16384
    max_pixels: int = 100_000_000
    # EXIF is one segment of at most 64 KB by its specification; ICC profiles and XMP (extended XMP
    # included) stay well below 1 MB in camera and editor output. 4 MiB leaves room for all of that
    # and refuses a file that is mostly metadata, such as 10 MB of EXIF spread over many segments.
    max_metadata_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_dimension", "max_pixels", "max_metadata_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ImageLimits.{name} must be positive, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "jpeg" | "png"
    content_type: str  # "image/jpeg" | "image/png"
    width: int
    height: int


_SEND_INSTEAD = "send a JPEG or PNG image"


def inspect_image(data: bytes, limits: ImageLimits = ImageLimits()) -> ImageInfo:
    """Identify and sanity-check an image. Raises InvalidImage, UnsupportedMediaType or PayloadTooLarge."""
    if not data:
        raise InvalidImage(f"The image is empty; {_SEND_INSTEAD}.")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"The image is {len(data)} bytes; the limit is {limits.max_bytes} bytes.")
    if data.startswith(_PNG_SIGNATURE):
        width, height = _png_dimensions(data)
        info = ImageInfo("png", "image/png", width, height)
    elif data.startswith(_JPEG_MAGIC):
        width, height = _jpeg_dimensions(data, limits.max_metadata_bytes)
        info = ImageInfo("jpeg", "image/jpeg", width, height)
    else:
        raise UnsupportedMediaType(_unsupported_message(data))
    _check_dimensions(info, limits)
    return info


def _check_dimensions(info: ImageInfo, limits: ImageLimits) -> None:
    size = f"{info.width}x{info.height}"
    if info.width == 0 or info.height == 0:
        raise InvalidImage(f"The image declares a size of {size} pixels; both sides must be at least 1 pixel.")
    if max(info.width, info.height) > limits.max_dimension:
        raise InvalidImage(f"The image is {size} pixels; each side may be at most {limits.max_dimension} pixels.")
    if info.width * info.height > limits.max_pixels:
        raise InvalidImage(
            f"The image is {size} = {info.width * info.height} pixels; the limit is {limits.max_pixels} pixels."
        )


# --- PNG ------------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # zero length, type, CRC: identical in every PNG
_IHDR = struct.Struct(">I4sIIBBBBBI")  # length, type, width, height, depth, color, compression, filter, interlace, CRC
_PNG_BIT_DEPTHS = {
    0: {1, 2, 4, 8, 16},
    2: {8, 16},
    3: {1, 2, 4, 8},
    4: {8, 16},
    6: {8, 16},
}


def _png_dimensions(data: bytes) -> tuple[int, int]:
    header_end = len(_PNG_SIGNATURE) + _IHDR.size
    if len(data) < header_end:
        raise InvalidImage("The PNG image is truncated (its header is incomplete).")
    (
        length,
        chunk_type,
        width,
        height,
        depth,
        color,
        compression,
        filter_method,
        interlace,
        crc,
    ) = _IHDR.unpack_from(data, len(_PNG_SIGNATURE))
    if length != 13 or chunk_type != b"IHDR":
        raise InvalidImage("The PNG image is corrupt (it does not start with a valid IHDR chunk).")
    if zlib.crc32(data[len(_PNG_SIGNATURE) + 4 : header_end - 4]) != crc:
        raise InvalidImage("The PNG image is corrupt (its IHDR chunk fails its checksum).")
    if depth not in _PNG_BIT_DEPTHS.get(color, ()) or compression != 0 or filter_method != 0 or interlace > 1:
        raise InvalidImage("The PNG image is corrupt (its IHDR chunk has invalid field values).")
    if width > 0x7FFFFFFF or height > 0x7FFFFFFF:  # the PNG spec caps both at 2^31-1
        raise InvalidImage("The PNG image is corrupt (its declared size is out of range).")
    if not data.endswith(_PNG_IEND):
        raise InvalidImage("The PNG image is truncated (it does not end with an IEND chunk).")
    return width, height


# --- JPEG -----------------------------------------------------------------------------------------
_JPEG_MAGIC = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"
_NOT_FILL_BYTE = re.compile(rb"[^\xff]")  # a marker may be preceded by any number of 0xFF fill bytes
# Start-of-frame markers carry the dimensions. C4 (DHT), C8 (reserved) and CC (DAC) share the range but are not frames.
_START_OF_FRAME = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn have no length field
_METADATA = frozenset({*range(0xE0, 0xF0), 0xFE})  # APP0-APP15 and COM
_START_OF_SCAN = 0xDA
# Real files have a few dozen header segments (ICC profiles split into up to 255 APP2 segments
# included); thousands means garbage, and the cap bounds the work on it.
_MAX_HEADER_SEGMENTS = 4096


def _jpeg_dimensions(data: bytes, max_metadata_bytes: int) -> tuple[int, int]:
    width, height = _jpeg_frame_size(data, max_metadata_bytes)
    if not data.endswith(_JPEG_EOI) and not data.rstrip(b"\x00").endswith(_JPEG_EOI):
        raise InvalidImage("The JPEG image is truncated (it does not end with an end-of-image marker).")
    return width, height


def _jpeg_frame_size(data: bytes, max_metadata_bytes: int) -> tuple[int, int]:
    """Walk the marker segments after SOI up to the first scan; return the first frame's (width, height).

    The walk goes on past the frame header, to the start of scan, so that no metadata segment in
    the headers escapes the metadata limit.
    """
    position = 2
    frame: tuple[int, int] | None = None
    metadata_bytes = 0
    for _ in range(_MAX_HEADER_SEGMENTS):
        if position >= len(data):
            break
        if data[position] != 0xFF:
            raise InvalidImage(f"The JPEG image is corrupt (no marker where one was expected, at byte {position}).")
        marker_at = _NOT_FILL_BYTE.search(data, position)
        if marker_at is None:
            break
        marker = data[marker_at.start()]
        position = marker_at.start() + 1
        if marker in _STANDALONE:
            continue
        if marker == _START_OF_SCAN and frame is not None:
            return frame
        if marker in (0x00, 0xD8, 0xD9, _START_OF_SCAN):
            # Stuffed zero, a second SOI, EOI, or start-of-scan before any frame header: not a usable JPEG.
            if frame is None:
                raise InvalidImage("The JPEG image is corrupt (no frame header before the image data).")
            raise InvalidImage("The JPEG image is corrupt (its headers end without image data).")
        if position + 2 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, position)
        if length < 2:
            raise InvalidImage(f"The JPEG image is corrupt (invalid segment length at byte {position}).")
        if position + length > len(data):
            break
        if marker in _START_OF_FRAME and frame is None:
            if length < 8:
                raise InvalidImage("The JPEG image is corrupt (its frame header is too short).")
            height, width = struct.unpack_from(">HH", data, position + 3)  # after length (2) and precision (1)
            frame = (width, height)
        elif marker in _METADATA:
            metadata_bytes += length
            if metadata_bytes > max_metadata_bytes:
                raise InvalidImage(
                    "The JPEG image carries more metadata (EXIF, XMP, ICC profile, comments) than the limit "
                    f"of {max_metadata_bytes} bytes."
                )
        position += length
    else:
        raise InvalidImage("The JPEG image is corrupt (too many segments before the image data).")
    if frame is None:
        raise InvalidImage("The JPEG image is truncated (it ends before its frame header).")
    raise InvalidImage("The JPEG image is truncated (it ends before its image data).")


# --- everything else ------------------------------------------------------------------------------
def _unsupported_message(data: bytes) -> str:
    detected = _detect_other_format(data)
    if detected is None:
        return f"The data is not a JPEG or PNG image (format not recognized); {_SEND_INSTEAD}."
    return f"{detected} are not supported; {_SEND_INSTEAD}."


_ISO_MEDIA_BRANDS = {
    b"heic": "HEIC images",
    b"heix": "HEIC images",
    b"hevc": "HEIC images",
    b"heim": "HEIC images",
    b"heis": "HEIC images",
    b"mif1": "HEIF images",
    b"msf1": "HEIF images",
    b"avif": "AVIF images",
    b"avis": "AVIF images",
}

_MAGIC_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF images"),
    (b"GIF89a", "GIF images"),
    (b"II*\x00", "TIFF images"),
    (b"MM\x00*", "TIFF images"),
    (b"%PDF-", "PDF documents"),
    (b"8BPS", "Photoshop (PSD) files"),
    (b"\x00\x00\x01\x00", "ICO images"),
    (b"\xff\x0a", "JPEG XL images"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL images"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000 images"),
    (b"PK\x03\x04", "ZIP archives"),
    (b"\x1f\x8b", "gzip-compressed files"),
)


def _detect_other_format(data: bytes) -> str | None:
    """A plural noun phrase for a recognizable non-JPEG/PNG format ("GIF images"), or None."""
    for prefix, name in _MAGIC_PREFIXES:
        if data.startswith(prefix):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP images"
    if data[:2] == b"BM" and len(data) >= 14 and data[6:10] == b"\x00\x00\x00\x00":  # reserved header fields
        return "BMP images"
    if data[4:8] == b"ftyp":
        return _ISO_MEDIA_BRANDS.get(data[8:12], "ISO media (MP4/QuickTime) files")
    return _detect_text_format(data[:1024])


def _detect_text_format(head: bytes) -> str | None:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in text):
        return "SVG images"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML documents"
    if text.startswith(b"<?xml"):
        return "XML documents"
    if text.startswith((b"{", b"[")):
        return "JSON documents"
    return None
