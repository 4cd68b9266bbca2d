"""Bytes that pretend to be images: other formats, truncations, bombs, metadata floods.

Built at run time from the fixtures (Pillow for the other formats), so each is what it claims to be.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
APP1_PAYLOAD_MAX = 65533  # a segment's length field counts itself: 65535 - 2


@functools.cache
def jpeg() -> bytes:
    return (FIXTURES / "chelsea.jpg").read_bytes()


def other_format(pillow_format: str) -> bytes:
    """The cat photo, small, saved as GIF, WEBP, BMP or TIFF."""
    with Image.open(FIXTURES / "chelsea.jpg") as photo:
        out = io.BytesIO()
        photo.resize((64, 43)).save(out, format=pillow_format)
        return out.getvalue()


def random_bytes(size: int = 4096, seed: int = 5) -> bytes:
    return random.Random(seed).randbytes(size)


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><head><title>Not an image</title></head><body>hello</body></html>"


def truncated_jpeg() -> bytes:
    return jpeg()[: len(jpeg()) // 2]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 30000) -> bytes:
    """A complete, valid 1-bit greyscale PNG of side x side pixels: about 110 KB that decode to gigabytes of RGB."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte, then the packed bits of one all-black row
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """The cat photo with its frame header rewritten to claim width x height."""
    data = bytearray(jpeg())
    frame = data.index(b"\xff\xc0\x00\x11")  # the photo's baseline frame header, 17 bytes long
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def jpeg_with_exif_flood(total_bytes: int = 10 * 1024 * 1024) -> bytes:
    """The cat photo with `total_bytes` of EXIF, spread over as many maximum-size APP1 segments as it takes."""
    segment = b"\xff\xe1" + struct.pack(">H", APP1_PAYLOAD_MAX + 2) + b"Exif\x00\x00" + bytes(APP1_PAYLOAD_MAX - 6)
    count = -(-total_bytes // len(segment))
    return jpeg()[:2] + segment * count + jpeg()[2:]


def jpeg_padded_to(size: int) -> bytes:
    """A valid JPEG of exactly `size` bytes: the photo followed by NUL padding, which encoders may add."""
    return jpeg() + bytes(size - len(jpeg()))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with one tiny data chunk: a bomb by its header alone."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def noise_png(side: int, seed: int = 7) -> bytes:
    """A valid RGB PNG of side x side random pixels: incompressible, so about 3 * side**2 bytes."""
    rows = random.Random(seed).randbytes(side * side * 3)
    raw = b"".join(b"\x00" + rows[y * side * 3 : (y + 1) * side * 3] for y in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(raw, 1)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
