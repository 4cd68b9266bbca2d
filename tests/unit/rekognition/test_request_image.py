"""Input rules: JPEG or PNG only, whole files only, 5 MB inline, one source per image."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from local.rekognition.errors import RekognitionError
from local.rekognition.request_image import MAX_INLINE_BYTES, decode_image, detect_format, image_from_request


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def error_code(call, *args) -> str:
    with pytest.raises(RekognitionError) as caught:
        call(*args)
    return caught.value.code


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "LA", "CMYK"])
def test_every_pixel_format_becomes_rgb(mode):
    source = Image.new("RGB", (40, 30), (200, 100, 50)).convert(mode)
    format = "JPEG" if mode in ("RGB", "L", "CMYK") else "PNG"
    image = decode_image(encode(source, format))
    assert image.rgb.mode == "RGB" and (image.width, image.height) == (40, 30)
    assert image.pixels.shape == (30, 40, 3) and image.pixels.dtype == np.uint8
    assert image.source_format == format


def test_sixteen_bit_greyscale_is_scaled_not_clipped_to_white():
    values = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    image = decode_image(encode(Image.fromarray(values), "PNG"))
    grey = image.pixels[..., 0]
    assert grey.min() == 0 and grey.max() == 255 and 100 < grey.mean() < 155


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(Image.new("RGB", (60, 20), (10, 200, 10)), "JPEG", exif=exif.tobytes())
    image = decode_image(data)
    assert (image.width, image.height) == (20, 60)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encode(Image.new("RGB", (8, 8)), "GIF"), id="gif"),
        pytest.param(encode(Image.new("RGB", (8, 8)), "BMP"), id="bmp"),
        pytest.param(encode(Image.new("RGB", (8, 8)), "WEBP"), id="webp"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, id="png-signature-only"),
    ],
)
def test_other_formats_and_damaged_files_are_invalid(data):
    assert error_code(decode_image, data) == "InvalidImageFormatException"


def test_a_truncated_jpeg_is_invalid():
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    whole = encode(Image.fromarray(noise), "JPEG")
    decode_image(whole)
    assert error_code(decode_image, whole[: len(whole) // 2]) == "InvalidImageFormatException"


def test_the_signature_decides_the_format():
    assert detect_format(b"\xff\xd8\xff\xe0rest") == "JPEG"
    assert detect_format(b"\x89PNG\r\n\x1a\nrest") == "PNG"
    assert detect_format(b"GIF89a") is None


def test_inline_bytes_over_5_mb_are_too_large_before_decoding():
    oversized = base64.b64encode(b"\xff\xd8\xff" + bytes(MAX_INLINE_BYTES)).decode()
    assert error_code(image_from_request, {"Bytes": oversized}) == "ImageTooLargeException"


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ({"Bytes": "not base64 !"}, "InvalidParameterException"),
        ({"Bytes": ""}, "InvalidParameterException"),
        ({}, "InvalidParameterException"),
        ({"Bytes": "AAAA", "S3Object": {"Bucket": "abc", "Name": "x"}}, "InvalidParameterException"),
        ({"S3Object": {"Bucket": "ab", "Name": "x"}}, "InvalidParameterException"),
        ({"S3Object": {"Bucket": "photos", "Name": ""}}, "InvalidParameterException"),
        ({"S3Object": {"Bucket": "photos", "Name": "x", "Version": ""}}, "InvalidParameterException"),
        ("a string", "InvalidParameterException"),
    ],
)
def test_malformed_image_members_are_invalid_parameters(image, code):
    assert error_code(image_from_request, image) == code


def test_a_very_large_jpeg_is_decoded_at_a_reduced_scale_keeping_its_shape():
    from local.rekognition.request_image import ANALYSIS_SIDE

    image = decode_image(encode(Image.new("RGB", (4400, 300), (90, 90, 200)), "JPEG"))
    assert ANALYSIS_SIDE <= image.width < 4400
    assert image.width / image.height == pytest.approx(4400 / 300, rel=0.02)
    assert decode_image(encode(Image.new("RGB", (4400, 300)), "PNG")).width == 4400  # PNG has no such shortcut
